import type { Command } from "commander";
import { examples, JSON_OPTION, printJson, subcommand, withCheckpointer, type JsonOption } from "./shared.js";

export interface OptimizeCommandOptions extends JsonOption {
  apply?: boolean;
  since?: string;
}

export function register(program: Command): void {
  subcommand(program, "optimize")
    .description(
      "Find a workflow's bottlenecks in its measured runs and recommend parallel steps, caching and resource changes; --apply writes them as a new version of its definition.",
    )
    .argument("<workflow>", "a graph such as parallel_workflow, or an engine definition's name")
    .option("--apply", "write the applicable recommendations as a new version (see 'orchestra workflow diff')")
    .option("--since <duration>", "measure only threads active in this last stretch of time: 30m, 24h, 7d")
    .option(...JSON_OPTION)
    .addHelpText(
      "after",
      examples(
        "orchestra optimize parallel_workflow",
        "orchestra optimize customer_service --apply",
        "orchestra optimize customer_service --json",
      ),
    )
    .action(async (workflow: string, options: OptimizeCommandOptions) => {
      const { optimizeWorkflow, formatOptimization, parseSince, checkOptimizable } = await import(
        "../../metrics/optimize.js"
      );
      // Checked before the database opens: bad input starts nothing and writes nothing.
      if (options.since !== undefined) parseSince(options.since);
      await checkOptimizable(workflow);
      const result = await withCheckpointer((db) => optimizeWorkflow(db, { workflow, ...options }));
      if (options.json) printJson(result);
      else process.stdout.write(formatOptimization(result) + "\n");
    });
}
