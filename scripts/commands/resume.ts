import type { Command } from "commander";
import { workflowClis } from "../workflow_clis.js";
import type { ResumeOptions } from "../workflow_cli.js";
import { addWorkflowOptions, examples, JSON_OPTION, subcommand, THREAD_ARGUMENT } from "./shared.js";
import { withThreadCommands } from "./thread_commands.js";

const CLIS = await workflowClis();

export function register(program: Command): void {
  const resume = subcommand(program, "resume")
    .description("Continue a thread from any process: answer its review, or pick up after a crash.")
    .argument(...THREAD_ARGUMENT)
    .option("--approve", "approve at the review point")
    .option("--reject", "reject: the run ends with status rejected")
    .option("--feedback <text>", "send feedback: a revision round addresses it")
    .option("--edit <file>", "replace the reviewable part of the state with this JSON file, then review again")
    .option("--reviewer <name>", "the name recorded with the decision (default: your OS user)")
    .option(...JSON_OPTION);
  // Each workflow's own answers (an engine approval's role and changes), as its CLI declares them.
  addWorkflowOptions(
    resume,
    [...CLIS.values()].flatMap((cli) => cli.resumeOptions?.() ?? []),
  );
  resume
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
      process.exitCode = await withThreadCommands(threadId, ({ db, commands }) =>
        commands.resume(db, threadId, options),
      );
    });
}
