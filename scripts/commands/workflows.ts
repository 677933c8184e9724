import type { Command } from "commander";
import { examples, JSON_OPTION, printJson, subcommand, type JsonOption } from "./shared.js";

export function register(program: Command): void {
  subcommand(program, "workflows")
    .description("List the workflows this installation runs and serves.")
    .option(...JSON_OPTION)
    .addHelpText("after", examples("orchestra workflows", "orchestra workflows --json"))
    .action(async (options: JsonOption) => {
      const { DEFAULT_WORKFLOW, WORKFLOWS, loadWorkflow, workflowNames } = await import("../../graphs/registry.js");
      const rows = await Promise.all(
        workflowNames().map(async (name) => {
          const definition = await loadWorkflow(name);
          return {
            name,
            description: WORKFLOWS[name].description,
            default: name === DEFAULT_WORKFLOW,
            reviewPoints: [...definition.reviewPoints],
            served: definition.serve !== undefined,
          };
        }),
      );
      if (options.json) printJson(rows);
      else {
        const labels = rows.map((row) => `${row.name}${row.default ? " (default)" : ""}`);
        const width = Math.max(...labels.map((label) => label.length));
        rows.forEach((row, i) => process.stdout.write(`${labels[i]!.padEnd(width)}  ${row.description}\n`));
      }
    });
}
