import type { Command } from "commander";
import { examples, JSON_OPTION, type JsonOption, subcommand, terminal, THREAD_ARGUMENT } from "./shared.js";
import { withThreadCommands } from "./thread_commands.js";

export type ShowOptions = JsonOption;

export function register(program: Command): void {
  subcommand(program, "show")
    .description(
      "Summarise a thread: mode, branches, sync progress, quality, reviews, timeline and report; an engine thread: its steps, status and audit summary.",
    )
    .argument(...THREAD_ARGUMENT)
    .option(...JSON_OPTION)
    .addHelpText("after", examples("orchestra show 3f2c...", "orchestra show 3f2c... --json | jq .quality"))
    .action(async (threadId: string, options: ShowOptions) => {
      const text = await withThreadCommands(threadId, ({ db, commands }) =>
        commands.show(db, threadId, { ...options, color: terminal(options) }),
      );
      process.stdout.write(text + "\n");
    });
}
