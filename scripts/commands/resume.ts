import type { Command } from "commander";
import { InputError } from "../../state/shared/errors.js";
import { examples, JSON_OPTION, makeOutput, printJson, readJsonFile, reviewerName, subcommand, terminal } from "./shared.js";
import type { LiveRunOptions } from "./live_run.js";

export interface ResumeOptions extends LiveRunOptions {
  approve?: boolean;
  reject?: boolean;
  feedback?: string;
  edit?: string;
  role?: string;
  changes?: string;
  model?: string;
}

/**
 * An engine thread is resumed here: an approval answered (flags, or the terminal prompt), a pause
 * lifted, or a crashed run continued. Undefined when the thread is not the engine's.
 */
async function resumeEngineThread(threadId: string, options: ResumeOptions): Promise<number | undefined> {
  const [engineCli, { withThreadLock }, { exitCodeOf, closingLine }, { approvalCommand, resumePausedCommand }] = await Promise.all([
    import("../engine_cli.js"),
    import("../../checkpoints/thread_lock.js"),
    import("./workflow.js"),
    import("../../nodes/enterprise_workflow/approval.js"),
  ]);
  return engineCli.onEngineThread(threadId, async ({ db, engine }) => {
    if (options.feedback !== undefined || options.edit !== undefined) throw new InputError("--feedback and --edit are for research threads: answer an engine approval with --approve or --reject (--changes JSON) and --role");
    const reviewer = reviewerName(options);
    const decision = engineCli.decisionFromFlags({ ...options, reviewer });
    const { line } = makeOutput(options);
    const decide = terminal(options) && process.stdin.isTTY ? engineCli.terminalDecider(reviewer, options.role) : undefined;
    const summary = await withThreadLock(db, threadId, async () => {
      const waiting = await engineCli.waitingFor(engine, threadId);
      let start = null;
      if (waiting?.kind === "approval") {
        let answer = decision;
        if (!answer && decide) {
          for (const text of engineCli.approvalLines(waiting.request)) line(text);
          answer = await decide(waiting.request);
        }
        if (!answer) throw new InputError(`thread ${threadId} waits for approval at ${waiting.request.stepId}: give --approve or --reject with --role ${waiting.request.approvers[0] ?? "ROLE"} (and --reviewer NAME)`);
        start = approvalCommand(answer);
      } else if (decision) {
        throw new InputError(`thread ${threadId} is not waiting for an approval${waiting ? " (it is paused)" : ""}: resume it without --approve or --reject`);
      } else if (waiting?.kind === "paused") start = resumePausedCommand(reviewer);
      line(`thread ${threadId} · resumed by ${reviewer}`);
      return engineCli.driveEngine(engine, threadId, start, { line, ...(options.model ? { model: options.model } : {}), ...(decide ? { decide } : {}) });
    });
    line(closingLine(summary));
    if (options.json) printJson(summary);
    return exitCodeOf(summary.status);
  });
}

async function resume(threadId: string, options: ResumeOptions): Promise<number> {
  const engineCode = await resumeEngineThread(threadId, options);
  if (engineCode !== undefined) return engineCode;
  if (options.role !== undefined || options.changes !== undefined) throw new InputError("--role and --changes answer engine approvals: this thread is a research thread");
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
    .option("--role <role>", "engine approvals: the role you decide as (the step lists the roles that may)")
    .option("--changes <json>", "engine approvals: approve with these context values changed (a JSON object)")
    .option("--model <spec>", "engine threads: the model for the rest of the run (default as for 'workflow run')")
    .option(...JSON_OPTION)
    .addHelpText(
      "after",
      examples(
        "orchestra resume 3f2c... --approve",
        'orchestra resume 3f2c... --feedback "Cover pricing in more depth"',
        "orchestra show 3f2c... --json | jq .reviewable > edit.json   # then edit it",
        "orchestra resume 3f2c... --edit edit.json",
        "orchestra resume 3f2c...            # in a terminal: asks; after a crash: continues",
        "orchestra resume tx-1 --approve --reviewer carol --role compliance_officer   # an engine approval",
      ),
    )
    .action(async (threadId: string, options: ResumeOptions) => {
      process.exitCode = await resume(threadId, options);
    });
}
