import type { Command } from "commander";
import { examples, JSON_OPTION, printJson, subcommand, withWorkflow, type JsonOption } from "./shared.js";

export type HistoryOptions = JsonOption;

export function register(program: Command): void {
  subcommand(program, "history")
    .description("List a thread's checkpoints: step, id, time, the nodes and branches that wrote each, and what runs next.")
    .argument("<thread>", "the thread id")
    .option(...JSON_OPTION)
    .addHelpText("after", examples("orchestra history 3f2c...", "orchestra replay 3f2c... --checkpoint <id from the list>"))
    .action(async (threadId: string, options: HistoryOptions) => {
      const [{ threadHistory }, { renderHistory }, { isEngineThread, openEngine }] = await Promise.all([import("../inspect.js"), import("../render.js"), import("../engine_cli.js")]);
      const entries = await withWorkflow(async ({ workflow, db }) =>
        threadHistory((await isEngineThread(db, threadId)) ? (await openEngine(db)).engine : workflow, threadId),
      );
      if (options.json) printJson(entries);
      else process.stdout.write(renderHistory(entries) + "\n");
    });
}
