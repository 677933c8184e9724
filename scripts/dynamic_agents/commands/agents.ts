import type { Command } from "commander";
import {
  examples,
  JSON_OPTION,
  printJson,
  readJsonFile,
  subcommand,
  withCheckpointer,
  type JsonOption,
} from "../../commands/shared.js";

const percent = (x: number) => `${Math.round(x * 100)}%`;

export function register(program: Command): void {
  const agents = subcommand(program, "agents")
    .description(
      "List the dynamic_agents workflow's agent templates, built-in and registered, with their capabilities and the history selection learns from.",
    )
    .option(...JSON_OPTION)
    .addHelpText(
      "after",
      examples("orchestra agents", "orchestra agents --json") +
        "\n\nThe --json result: [{agentType, capabilities, creations, successRate, averageQuality, meanSeconds, errors, lastError}]." +
        "\nmeanSeconds, errors and lastError come from agents whose template has monitoring on (monitoringEnabled, the default)." +
        "\nA template with no finished agent has success rate 1: selection trusts it until history says otherwise.",
    )
    .action(async (options: JsonOption) => {
      const [{ agentStatsOn }, { summariseTemplates }, { AGENT_TEMPLATES, withRegistered }] = await Promise.all([
        import("../../../checkpoints/dynamic_agents/agent_stats.js"),
        import("../../../nodes/dynamic_agents/summary.js"),
        import("../../../state/dynamic_agents/templates.js"),
      ]);
      // Reading the statistics creates their table when it is missing, like `orchestra db migrate` does for the checkpoints.
      const { stats, registered } = await withCheckpointer(async (db) => {
        const store = agentStatsOn(db.pool, db.schema);
        return { stats: await store.readStats(), registered: await store.readTemplates() };
      });
      const rows = summariseTemplates(withRegistered(AGENT_TEMPLATES, registered), stats);
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

  subcommand(agents, "add")
    .description(
      "Register an agent template from a JSON file, checked before anything is written; registering a name again replaces it.",
    )
    .argument(
      "<file>",
      "the template: {agentType, capabilities, role, memoryMb, tokens, maxConcurrentTasks?, monitoringEnabled?, parameters?}",
    )
    .option(...JSON_OPTION)
    .addHelpText(
      "after",
      examples("orchestra agents add fact_checker.json", "orchestra agents add fact_checker.json --json") +
        "\n\nTemplates are kept in the agent_templates table of the workflow's schema, beside agent_runs;" +
        "\nevery process on that database picks them up at its next run. Built-in names cannot be taken." +
        "\nThe --json result: {agentType, capabilities, registered: true}.",
    )
    // `agents` has its own --json: optsWithGlobals sees the flag whichever of the two took it.
    .action(async (file: string, _options: JsonOption, command: Command) => {
      const options = command.optsWithGlobals<JsonOption>();
      const [{ agentStatsOn }, { parseTemplateFile }] = await Promise.all([
        import("../../../checkpoints/dynamic_agents/agent_stats.js"),
        import("../../../state/dynamic_agents/templates.js"),
      ]);
      const template = parseTemplateFile(await readJsonFile("agents add", file, TEMPLATE_EXAMPLE));
      await withCheckpointer((db) => agentStatsOn(db.pool, db.schema).registerTemplate(template));
      if (options.json)
        printJson({ agentType: template.agentType, capabilities: template.capabilities, registered: true });
      else process.stdout.write(`registered template ${template.agentType} (${template.capabilities.join(", ")})\n`);
    });
}

const TEMPLATE_EXAMPLE =
  'give {"agentType": "fact_checker", "capabilities": ["validation"], "role": "You check facts.", "memoryMb": 512, "tokens": 4000}';
