import type { Command } from "commander";
import { examples, JSON_OPTION, subcommand, terminal, withWorkflow, type JsonOption } from "./shared.js";

export type ShowOptions = JsonOption;

export function register(program: Command): void {
  subcommand(program, "show")
    .description("Summarise a thread: mode, branches, sync progress, quality, reviews, timeline and report; an engine thread: its steps, status and audit summary.")
    .argument("<thread>", "the thread id")
    .option(...JSON_OPTION)
    .addHelpText("after", examples("orchestra show 3f2c...", "orchestra show 3f2c... --json | jq .quality"))
    .action(async (threadId: string, options: ShowOptions) => {
      const [{ summarizeThread }, { renderSummary }, engineCli] = await Promise.all([import("../inspect.js"), import("../render.js"), import("../engine_cli.js")]);
      const text = await withWorkflow(async ({ workflow, db }) => {
        if (await engineCli.isEngineThread(db, threadId)) {
          const summary = await engineCli.summarizeEngineThread((await engineCli.openEngine(db)).engine, threadId);
          return options.json ? JSON.stringify(summary) : engineCli.renderEngineSummary(summary);
        }
        const summary = await summarizeThread(workflow, threadId);
        return options.json ? JSON.stringify(summary) : renderSummary(summary, terminal(options));
      });
      process.stdout.write(text + "\n");
    });
}
