import type { Command } from "commander";
import { EXIT, examples, JSON_OPTION, printJson, subcommand, type JsonOption } from "./shared.js";

interface TestOptions extends JsonOption {
  data: string;
  subject?: string;
}

/** `--data`: the event as JSON text; one line naming the problem when it is not. */
export async function eventData(text: string): Promise<unknown> {
  const { InputError } = await import("../../state/shared/errors.js");
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new InputError(
      `--data is not valid JSON (${(error as Error).message}): give the event like --data '{"order_id": "A-1"}'`,
    );
  }
}

export function register(program: Command): void {
  const triggers = subcommand(program, "triggers")
    .description("The events that start workflows or signal their waiting threads (docs/events.md).")
    .addHelpText(
      "after",
      examples(
        "orchestra triggers list",
        'orchestra triggers test research_request --data \'{"task": "Compare solar and wind"}\'',
      ),
    );
  triggers
    .command("list")
    .description(
      "List the declared triggers: graphs/triggers.yaml (or ORCHESTRA_TRIGGERS_FILE) and the engine definitions' own.",
    )
    .option(...JSON_OPTION)
    .addHelpText("after", examples("orchestra triggers list", "orchestra triggers list --json"))
    .action(async (options: JsonOption) => {
      const [{ workflowTriggers }, { secretEnvName }] = await Promise.all([
        import("../../graphs/triggers.js"),
        import("../../state/shared/triggers.js"),
      ]);
      const rows = (await workflowTriggers()).map(({ runInput: _runInput, secret: _secret, ...trigger }) => {
        const secretEnv = secretEnvName({ secret: _secret });
        return { ...trigger, ...(secretEnv ? { secretEnv, secretSet: process.env[secretEnv] !== undefined } : {}) };
      });
      if (options.json) printJson(rows);
      else {
        const width = Math.max(0, ...rows.map((row) => row.name.length));
        for (const row of rows) {
          const target = row.definition ? `${row.workflow}:${row.definition}` : row.workflow;
          const where =
            row.source === "nats"
              ? `nats ${row.subject}`
              : `POST /triggers/${row.name}${row.secretSet === false ? ` (${row.secretEnv} unset)` : ""}`;
          process.stdout.write(`${row.name.padEnd(width)}  ${row.action} ${target}  ${where}\n`);
        }
      }
    });
  triggers
    .command("test")
    .description(
      "Show what a trigger makes of an event, sending nothing: refused by its filter, or the run input it maps to.",
    )
    .argument("<trigger>", "the trigger's name")
    .requiredOption("--data <json>", "the event, as JSON")
    .option("--subject <subject>", "the NATS subject the message came on (the filter and mapping see it as `subject`)")
    .option(...JSON_OPTION)
    .addHelpText(
      "after",
      examples(
        'orchestra triggers test research_request --data \'{"task": "Compare solar and wind"}\'',
        "orchestra triggers test research_request --data '{}' --json",
      ),
    )
    .action(async (name: string, options: TestOptions) => {
      const [{ workflowTriggers }, { evaluateEvent }, { InputError }] = await Promise.all([
        import("../../graphs/triggers.js"),
        import("../../state/shared/triggers.js"),
        import("../../state/shared/errors.js"),
      ]);
      const event = await eventData(options.data);
      const all = await workflowTriggers();
      const trigger = all.find((t) => t.name === name);
      if (!trigger)
        throw new InputError(
          `no trigger named '${name}': use one of ${all.map((t) => t.name).join(", ")} ('orchestra triggers list')`,
        );
      const outcome = evaluateEvent(trigger, event, options.subject);
      if (!outcome.accepted) {
        if (options.json) printJson({ trigger: name, accepted: false, reason: outcome.reason });
        else process.stdout.write(`refused: ${outcome.reason}\n`);
        process.exitCode = EXIT.failed;
        return;
      }
      const input = trigger.runInput(outcome.input, "(event id)");
      const correlation = outcome.correlationKey !== undefined ? { correlationKey: outcome.correlationKey } : {};
      if (options.json)
        printJson({
          trigger: name,
          accepted: true,
          action: trigger.action,
          workflow: trigger.workflow,
          input,
          ...correlation,
        });
      else
        process.stdout.write(`accepted: ${trigger.action} ${trigger.workflow} with input ${JSON.stringify(input)}\n`);
    });
}
