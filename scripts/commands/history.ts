import type { Command } from "commander";
import { examples, JSON_OPTION, type JsonOption, printJson, subcommand, THREAD_ARGUMENT } from "./shared.js";
import { withThreadCommands } from "./thread_commands.js";

export type HistoryOptions = JsonOption;

export function register(program: Command): void {
  subcommand(program, "history")
    .description(
      "List a thread's checkpoints: step, id, time, the nodes and branches that wrote each, and what runs next.",
    )
    .argument(...THREAD_ARGUMENT)
    .option(...JSON_OPTION)
    .addHelpText(
      "after",
      examples("orchestra history 3f2c...", "orchestra replay 3f2c... --checkpoint <id from the list>"),
    )
    .action(async (threadId: string, options: HistoryOptions) => {
      const { renderHistory } = await import("../render.js");
      const { entries, historyNodes } = await withThreadCommands(threadId, async ({ db, commands, cli }) => ({
        entries: await commands.history(db, threadId),
        historyNodes: cli.historyNodes,
      }));
      if (options.json) printJson(entries);
      else process.stdout.write(renderHistory(entries, historyNodes) + "\n");
    });
}
