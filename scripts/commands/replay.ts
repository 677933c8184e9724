import type { Command } from "commander";
import type { ReplayOptions } from "../workflow_cli.js";
import { examples, JSON_OPTION, reviewOption, subcommand, THREAD_ARGUMENT } from "./shared.js";
import { withThreadCommands } from "./thread_commands.js";

export function register(program: Command): void {
  subcommand(program, "replay")
    .description("Time travel: fork a thread at an earlier checkpoint and run on from there. Its history stays intact.")
    .argument(...THREAD_ARGUMENT)
    .requiredOption("--checkpoint <id>", "the checkpoint to fork at ('orchestra history THREAD' lists them)")
    .addOption(reviewOption("the review mode from the fork on (default: the thread's own)"))
    .option("--reviewer <name>", "the name recorded with review decisions (default: your OS user)")
    .option(...JSON_OPTION)
    .addHelpText(
      "after",
      examples("orchestra history 3f2c...", "orchestra replay 3f2c... --checkpoint 1f0c6a7e-... --review never"),
    )
    .action(async (threadId: string, options: ReplayOptions) => {
      process.exitCode = await withThreadCommands(threadId, ({ db, commands }) =>
        commands.replay(db, threadId, options),
      );
    });
}
