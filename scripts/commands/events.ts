import type { Command } from "commander";
import { eventData } from "./triggers.js";
import { EXIT, examples, JSON_OPTION, printJson, subcommand, type JsonOption } from "./shared.js";

interface SendOptions extends JsonOption {
  data: string;
  url: string;
  id?: string;
}

/** Where `orchestra serve` listens by default. */
const DEFAULT_SERVER_URL = "http://127.0.0.1:2024";

export function register(program: Command): void {
  const events = subcommand(program, "events")
    .description("Send events to the triggers, as an outside system would (docs/events.md).")
    .addHelpText(
      "after",
      examples(
        'ORCHESTRA_RESEARCH_TRIGGER_SECRET=... orchestra events send research_request --data \'{"task": "Compare solar and wind"}\'',
      ),
    );
  events
    .command("send")
    .description(
      "POST a signed event to a server's HTTP trigger, with the trigger's secret from the environment; prints the thread and run it started.",
    )
    .argument("<trigger>", "the trigger's name")
    .requiredOption("--data <json>", "the event, as JSON")
    .option(
      "--url <url>",
      "the server (default: ORCHESTRA_URL, else http://127.0.0.1:2024)",
      process.env.ORCHESTRA_URL ?? DEFAULT_SERVER_URL,
    )
    .option(
      "--id <key>",
      "the event's idempotency key: sending it again starts nothing new (default: the body's SHA-256)",
    )
    .option(...JSON_OPTION)
    .addHelpText(
      "after",
      examples(
        'orchestra events send research_request --data \'{"task": "Compare solar and wind"}\'',
        'orchestra events send research_request --data \'{"task": "x"}\' --id evt-1 --json',
      ),
    )
    .action(async (name: string, options: SendOptions) => {
      const [
        { workflowTriggers },
        { secretEnvName, signEvent, IDEMPOTENCY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER },
        { InputError },
      ] = await Promise.all([
        import("../../graphs/triggers.js"),
        import("../../state/shared/triggers.js"),
        import("../../state/shared/errors.js"),
      ]);
      const body = JSON.stringify(await eventData(options.data));
      const trigger = (await workflowTriggers()).find((t) => t.name === name);
      if (!trigger || trigger.source !== "http")
        throw new InputError(`no HTTP trigger named '${name}': 'orchestra triggers list' shows them`);
      const secretEnv = secretEnvName(trigger)!;
      const secret = process.env[secretEnv];
      if (!secret) throw new InputError(`${secretEnv} is not set: export the trigger's secret to sign the event`);
      const timestamp = Math.floor(Date.now() / 1000);
      const response = await fetch(new URL(`/triggers/${encodeURIComponent(name)}`, options.url), {
        method: "POST",
        headers: {
          "content-type": "application/json",
          [TIMESTAMP_HEADER]: String(timestamp),
          [SIGNATURE_HEADER]: signEvent(secret, timestamp, body, options.id),
          ...(options.id ? { [IDEMPOTENCY_HEADER]: options.id } : {}),
        },
        body,
      }).catch((error: unknown) => {
        throw new InputError(
          `cannot reach ${options.url} (${(error as Error).message}): start 'orchestra serve' or pass --url`,
        );
      });
      const answer = (await response.json().catch(() => ({}))) as Record<string, unknown>;
      if (!response.ok) {
        process.stderr.write(`orchestra: ${response.status} ${String(answer.message ?? response.statusText)}\n`);
        process.exitCode = EXIT.failed;
        return;
      }
      if (options.json) printJson(answer);
      else
        process.stdout.write(
          `${answer.deduplicated ? "already started" : "started"}: thread ${String(answer.thread_id)}, run ${String(answer.run_id)}\n`,
        );
    });
}
