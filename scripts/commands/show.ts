import type { Command } from "commander";
import { examples, JSON_OPTION, printJson, subcommand, terminal, withWorkflow, type JsonOption } from "./shared.js";

export type ShowOptions = JsonOption;

export function register(program: Command): void {
  subcommand(program, "show")
    .description("Summarise a thread: mode, branches, sync progress, quality, reviews, timeline and report.")
    .argument("<thread>", "the thread id")
    .option(...JSON_OPTION)
    .addHelpText("after", examples("orchestra show 3f2c...", "orchestra show 3f2c... --json | jq .quality"))
    .action(async (threadId: string, options: ShowOptions) => {
      const [{ summarizeThread }, { renderSummary }] = await Promise.all([import("../inspect.js"), import("../render.js")]);
      const summary = await withWorkflow(({ workflow }) => summarizeThread(workflow, threadId));
      if (options.json) printJson(summary);
      else process.stdout.write(renderSummary(summary, terminal(options)) + "\n");
    });
}
