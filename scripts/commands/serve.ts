import type { Command } from "commander";
import { InputError } from "../../state/shared/errors.js";
import { EXIT, examples, JSON_OPTION, printJson, subcommand, type JsonOption } from "./shared.js";

export interface ServeOptions extends JsonOption {
  port: number;
  host: string;
  workers: number;
  dbPool: number;
  /** Default: the server's own (DEFAULT_GRACE_MS). */
  grace?: number;
}

const wholeNumber = (flag: string, max: number) => (value: string) => {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || n > max)
    throw new InputError(`${flag} must be a whole number from 0 to ${max}, got '${value}'`);
  return n;
};

const positiveNumber = (flag: string, max: number) => (value: string) => {
  const n = wholeNumber(flag, max)(value);
  if (n === 0) throw new InputError(`${flag} must be a whole number from 1 to ${max}, got '${value}'`);
  return n;
};

/** Serves until SIGTERM or Ctrl-C; then stops taking runs, gives those in flight the grace period, and exits 0. */
async function serve(options: ServeOptions): Promise<void> {
  const { envValue } = await import("../../db/env.js");
  // A bad ORCHESTRA_LOG_LEVEL stops the server before it connects to anything.
  const log = (await import("../../checkpoints/log.js")).rootLog("info");
  // Names this server's connections in pg_stat_activity, per deployment (schema).
  process.env.PGAPPNAME ??= `orchestra serve ${envValue("ORCHESTRA_DB_SCHEMA") ?? "public"}`;
  // A stopped run's save that LangGraph still flushes can fail once nothing awaits it (a lease
  // lost, the database restarting): its run is owned by its lease and taken over, so one such
  // failure is logged, not a reason to end every other run this server holds.
  process.on("unhandledRejection", (reason) =>
    log.error({ err: reason instanceof Error ? reason.message : String(reason) }, "a background promise failed"),
  );
  const { startOrchestraServer } = await import("../../server/main.js");
  const server = await startOrchestraServer({
    port: options.port,
    host: options.host,
    workers: options.workers,
    dbPool: options.dbPool,
    onProgress: (message) => log.info(message),
  });
  const ready = {
    url: server.url,
    port: server.port,
    workers: options.workers,
    dbPool: options.dbPool,
    checkpoints: server.location,
  };
  if (options.json) printJson(ready);
  else
    process.stdout.write(
      `orchestra serve: listening on ${server.url} (${options.workers} workers, ${options.dbPool} database connections, checkpoints: ${server.location})\n`,
    );
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once("SIGTERM", resolve);
    process.once("SIGINT", resolve);
  });
  // A second signal while closing stops at once.
  const now = (again: NodeJS.Signals) => process.exit(again === "SIGINT" ? EXIT.interrupted : 128 + 15);
  process.once("SIGTERM", now);
  process.once("SIGINT", now);
  log.info({ signal }, "no new runs; runs in flight get their grace period, then go back to the queue");
  await server.close(options.grace);
  // Streams that clients keep open and timers of the libraries would keep the process up.
  process.exit(EXIT.ok);
}

export function register(program: Command): void {
  subcommand(program, "serve")
    .description(
      "Serve every workflow through the LangGraph API (SDK, Studio, the web console at /console), on Postgres.",
    )
    .option("--port <port>", "port to listen on (0: any free port)", wholeNumber("--port", 65_535), 2024)
    .option("--host <host>", "interface to listen on (0.0.0.0: every interface)", "127.0.0.1")
    .option(
      "--workers <n>",
      "runs this process executes at once (they hold no database connection while they wait)",
      wholeNumber("--workers", 1000),
      100,
    )
    .option(
      "--db-pool <n>",
      "Postgres connections this process uses, whatever --workers is (plus one for notifications)",
      positiveNumber("--db-pool", 1000),
      10,
    )
    .option(
      "--grace <ms>",
      "on SIGTERM, how long runs in flight get before they are handed back to the queue (default: 10000)",
      wholeNumber("--grace", 3_600_000),
    )
    .option(...JSON_OPTION)
    .addHelpText(
      "after",
      `${examples("orchestra serve", "orchestra serve --port 8123 --workers 20", "DATABASE_URL=postgres://... ORCHESTRA_API_KEY=... orchestra serve --host 0.0.0.0 --json")}

Without DATABASE_URL it uses the embedded Postgres, as the other commands do. With ORCHESTRA_API_KEY set,
every request needs it (x-api-key or Authorization: Bearer). --json prints the address as one JSON line.`,
    )
    .action(serve);
}
