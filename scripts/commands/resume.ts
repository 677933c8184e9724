import type { Command } from "commander";
import { InputError } from "../../state/shared/errors.js";
import { examples, JSON_OPTION, readJsonFile, reviewerName, subcommand } from "./shared.js";
import type { LiveRunOptions } from "./live_run.js";

export interface ResumeOptions extends LiveRunOptions {
  approve?: boolean;
  reject?: boolean;
  feedback?: string;
  edit?: string;
}

async function resume(threadId: string, options: ResumeOptions): Promise<number> {
  const chosen = [
    options.approve && "approve",
    options.reject && "reject",
    options.feedback !== undefined && "feedback",
    options.edit !== undefined && "edit",
  ].filter(Boolean);
  if (chosen.length > 1) throw new InputError("give at most one of --approve, --reject, --feedback, --edit");
  const edit =
    options.edit !== undefined ? { edit: await readJsonFile("--edit", options.edit, `start from 'orchestra show ${threadId} --json | jq .reviewable'`), reviewer: reviewerName(options) } : undefined;
  const [{ parseReviewDecision }, { liveRun }, { resumeRun }] = await Promise.all([
    import("../../state/shared/review.js"),
    import("./live_run.js"),
    import("../runner.js"),
  ]);
  const decision =
    chosen.length && chosen[0] !== "edit"
      ? parseReviewDecision({
          action: chosen[0],
          reviewer: reviewerName(options),
          ...(options.feedback !== undefined ? { feedback: options.feedback } : {}),
        })
      : undefined;
  return liveRun(options, { id: threadId }, ({ workflow, db, drive }) =>
    resumeRun(workflow, db, { threadId, ...(decision ? { decision } : {}), ...(edit ? { edit } : {}) }, drive),
  );
}

export function register(program: Command): void {
  subcommand(program, "resume")
    .description("Continue a thread from any process: answer its review, or pick up after a crash.")
    .argument("<thread>", "the thread id")
    .option("--approve", "approve at the review point")
    .option("--reject", "reject: the run ends with status rejected")
    .option("--feedback <text>", "send feedback: a revision round addresses it")
    .option("--edit <file>", "replace the reviewable part of the state with this JSON file, then review again")
    .option("--reviewer <name>", "the name recorded with the decision (default: your OS user)")
    .option(...JSON_OPTION)
    .addHelpText(
      "after",
      examples(
        "orchestra resume 3f2c... --approve",
        'orchestra resume 3f2c... --feedback "Cover pricing in more depth"',
        "orchestra show 3f2c... --json | jq .reviewable > edit.json   # then edit it",
        "orchestra resume 3f2c... --edit edit.json",
        "orchestra resume 3f2c...            # in a terminal: asks; after a crash: continues",
      ),
    )
    .action(async (threadId: string, options: ResumeOptions) => {
      process.exitCode = await resume(threadId, options);
    });
}
