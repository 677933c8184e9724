import type { Command } from "commander";
import type { WorkflowDefinition } from "../../state/shared/workflow_definition.js";
import { examples, JSON_OPTION, printJson, subcommand, type JsonOption } from "./shared.js";

export function register(program: Command): void {
  subcommand(program, "workflows")
    .description("List the workflows this installation runs and serves.")
    .option(...JSON_OPTION)
    .addHelpText("after", examples("orchestra workflows", "orchestra workflows --json"))
    .action(async (options: JsonOption) => {
      const { DEFAULT_WORKFLOW, WORKFLOWS } = await import("../../graphs/registry.js");
      const rows = Object.values(WORKFLOWS).map((d: WorkflowDefinition) => ({
        name: d.name,
        description: d.description,
        default: d.name === DEFAULT_WORKFLOW,
        reviewPoints: [...d.reviewPoints],
        served: d.serve !== undefined,
      }));
      if (options.json) printJson(rows);
      else for (const row of rows) process.stdout.write(`${row.name}${row.default ? " (default)" : ""}  ${row.description}\n`);
    });
}
