import type { Command } from "commander";
import { examples, JSON_OPTION, printJson, subcommand, withCheckpointer, type JsonOption } from "../../commands/shared.js";

const percent = (x: number) => `${Math.round(x * 100)}%`;

export function register(program: Command): void {
  subcommand(program, "agents")
    .description("List the dynamic_agents workflow's agent templates with their capabilities and the history selection learns from.")
    .option(...JSON_OPTION)
    .addHelpText(
      "after",
      examples("orchestra agents", "orchestra agents --json") +
        "\n\nThe --json result: [{agentType, capabilities, creations, successRate, averageQuality, meanSeconds, errors, lastError}]." +
        "\nmeanSeconds, errors and lastError come from agents whose template has monitoring on (monitoringEnabled, the default)." +
        "\nA template with no finished agent has success rate 1: selection trusts it until history says otherwise.",
    )
    .action(async (options: JsonOption) => {
      const [{ agentStatsOn }, { summariseTemplates }, { AGENT_TEMPLATES }] = await Promise.all([
        import("../../../checkpoints/dynamic_agents/agent_stats.js"),
        import("../../../nodes/dynamic_agents/summary.js"),
        import("../../../state/dynamic_agents/templates.js"),
      ]);
      // Reading the statistics creates their table when it is missing, like `orchestra db migrate` does for the checkpoints.
      const stats = await withCheckpointer((db) => agentStatsOn(db.pool, db.schema).readStats());
      const rows = summariseTemplates(AGENT_TEMPLATES, stats);
      if (options.json) {
        printJson(rows);
        return;
      }
      const width = Math.max(...rows.map((row) => row.agentType.length));
      process.stdout.write(`${"template".padEnd(width)}  created  success  quality  mean s  errors  capabilities\n`);
      for (const row of rows) {
        const quality = row.averageQuality === null ? "-" : row.averageQuality.toFixed(3);
        const seconds = row.meanSeconds === null ? "-" : row.meanSeconds.toFixed(3);
        process.stdout.write(
          `${row.agentType.padEnd(width)}  ${String(row.creations).padStart(7)}  ${percent(row.successRate).padStart(7)}  ${quality.padStart(7)}  ${seconds.padStart(6)}  ${String(row.errors).padStart(6)}  ${row.capabilities.join(", ")}\n`,
        );
        if (row.lastError) process.stdout.write(`${"".padEnd(width)}  last error: ${row.lastError}\n`);
      }
    });
}
