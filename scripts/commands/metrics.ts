import type { Command } from "commander";
import { examples, JSON_OPTION, printJson, subcommand, withCheckpointer, type JsonOption } from "./shared.js";

export interface MetricsCommandOptions extends JsonOption {
  workflow?: string;
  since?: string;
}

export function register(program: Command): void {
  subcommand(program, "metrics")
    .description(
      "Durations, success and error rates, retries, timeouts, model calls and resource use per workflow and step, read from the runs stored in Postgres.",
    )
    .option(
      "--workflow <name>",
      "only this workflow (a graph such as parallel_workflow, or an engine definition's name)",
    )
    .option("--since <duration>", "only threads active in this last stretch of time: 30m, 24h, 7d")
    .option(...JSON_OPTION)
    .addHelpText(
      "after",
      examples(
        "orchestra metrics",
        "orchestra metrics --workflow parallel_workflow --since 24h",
        "orchestra metrics --json",
      ),
    )
    .action(async (options: MetricsCommandOptions) => {
      const [{ metrics, formatMetrics, parseSince, knownGraphs, variantNames }, { InputError }] = await Promise.all([
        import("../../metrics/optimize.js"),
        import("../../state/shared/errors.js"),
      ]);
      // Checked before the database opens: bad input starts nothing.
      if (options.since !== undefined) parseSince(options.since);
      const found = await withCheckpointer((db) => metrics(db, options));
      if (options.workflow !== undefined && !found.length && !(options.workflow in knownGraphs())) {
        const names = [...Object.keys(knownGraphs()), ...(await variantNames())];
        if (!names.includes(options.workflow))
          throw new InputError(
            `no workflow named '${options.workflow}' has runs or a definition: use one of ${names.join(", ")}`,
          );
      }
      if (options.json) printJson(found);
      else process.stdout.write(formatMetrics(found) + "\n");
    });
}
