import { randomUUID } from "node:crypto";
import type { AddressInfo } from "node:net";
import os from "node:os";
import { pathToFileURL } from "node:url";
import { serve } from "@hono/node-server";
import { Command, InvalidArgumentError } from "commander";
import { openCheckpointer } from "../../checkpoints/index.js";
import { envValue } from "../../checkpoints/env.js";
import { migrateServerStore } from "../../checkpoints/server_store.js";
import { InputError } from "../../state/shared/errors.js";
import { STUDIO_ORIGIN, createApp, deleteStatelessThread, graphAssistantId } from "./app.js";
import { RunBus } from "./bus.js";
import { CronScheduler } from "./crons.js";
import { EventLog } from "./events.js";
import { servedGraphs } from "../../graphs/registry.js";
import { RunQueue } from "./queue.js";
import { errorBody } from "./serialise.js";
import { RunWorkers } from "./worker.js";

export interface ServerOptions {
  port: number;
  host: string;
  /** Runs this process executes at once. */
  workers: number;
  /** Default: env DATABASE_URL; without either, the embedded Postgres. */
  databaseUrl?: string;
  onProgress?: (message: string) => void;
}

export interface OrchestraServer {
  url: string;
  port: number;
  /** Where checkpoints and the server's tables live, safe to print. */
  location: string;
  /**
   * Stops taking runs and requests; runs still going after `graceMs` are handed back to the queue,
   * where another instance resumes them from their last checkpoint.
   */
  close(graceMs?: number): Promise<void>;
}

export const DEFAULT_GRACE_MS = 10_000;

/** Connections for the short queries of the API and the workers, beside the sessions held for good. */
const QUERY_CONNECTIONS = 5;

export async function startOrchestraServer(options: ServerOptions): Promise<OrchestraServer> {
  // Each worker slot holds a session for good, and the bus its listener; without a cap, N requests
  // at once opened N more connections, and 50 waiting runs ran Postgres out of them.
  const maxConnections = options.workers + 1 + QUERY_CONNECTIONS;
  const db = await openCheckpointer({ databaseUrl: options.databaseUrl, onProgress: options.onProgress, maxConnections });
  const { pool, schema, checkpointer } = db;
  let bus: RunBus | undefined;
  try {
    await migrateServerStore(pool, schema);
    const graphs = new Map(servedGraphs().map((served) => [served.graphId, { served, graph: served.compile(checkpointer) }]));
    for (const { served } of graphs.values()) {
      await pool.query(
        `INSERT INTO "${schema}".assistants (assistant_id, graph_id, name, description, metadata)
         VALUES ($1, $2, $2, $3, '{"created_by": "system"}') ON CONFLICT DO NOTHING`,
        [graphAssistantId(served.graphId), served.graphId, served.description],
      );
    }
    const runBus = await RunBus.open(pool, schema);
    bus = runBus;
    const events = new EventLog(pool, schema, bus);
    const queue = new RunQueue(pool, schema, bus, `${os.hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`);
    const workers = new RunWorkers({
      pool,
      schema,
      queue,
      bus,
      events,
      graphs: new Map([...graphs].map(([id, entry]) => [id, entry.graph])),
      deleteThread: (threadId) => deleteStatelessThread(pool, schema, threadId),
      log: (message) => console.error(`orchestra serve: ${message}`),
    });
    let accepting = true;
    const extraOrigins = (envValue("ORCHESTRA_CORS_ORIGINS") ?? "").split(",").map((o) => o.trim()).filter(Boolean);
    const { app, runs } = createApp({
      pool,
      schema,
      graphs,
      bus,
      events,
      apiKey: envValue("ORCHESTRA_API_KEY"),
      corsOrigins: [STUDIO_ORIGIN, ...extraOrigins],
      accepting: () => accepting,
    });
    const crons = new CronScheduler({ pool, schema, runs, log: (message) => console.error(`orchestra serve: ${message}`) });
    const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
      const listening = serve({ fetch: app.fetch, port: options.port, hostname: options.host }, () => resolve(listening));
      listening.once("error", reject);
    });
    // Started once listening: a server that cannot listen has no sessions held to wait for on close.
    workers.start(options.workers);
    crons.start();
    const port = (server.address() as AddressInfo).port;
    let closing: Promise<void> | undefined;
    return {
      url: `http://${options.host}:${port}`,
      port,
      location: db.location,
      close: (graceMs = DEFAULT_GRACE_MS) =>
        (closing ??= (async () => {
          accepting = false;
          await crons.stop();
          await workers.stop(graceMs);
          // Streams and waits still open end with the connection; the runs they follow go on elsewhere.
          await new Promise<void>((resolve) => {
            server.close(() => resolve());
            if ("closeAllConnections" in server) server.closeAllConnections();
          });
          await runBus.close();
          await db.close();
        })()),
    };
  } catch (error) {
    // The listener's session is checked out: the pool ends only once it is given back.
    await bus?.close();
    await db.close();
    throw error;
  }
}

function positiveInteger(name: string, max: number) {
  return (value: string) => {
    const number = Number(value);
    if (!Number.isInteger(number) || number < 0 || number > max) throw new InvalidArgumentError(`${name} must be a whole number from 0 to ${max}`);
    return number;
  };
}

async function main(argv: string[]): Promise<void> {
  const program = new Command("orchestra serve")
    .description("Serve every workflow through the LangGraph API on Postgres")
    .option("--port <port>", "port to listen on (0: any free port)", positiveInteger("--port", 65_535), 2024)
    .option("--host <host>", "interface to listen on", "127.0.0.1")
    .option("--workers <n>", "runs this process executes at once", positiveInteger("--workers", 1000), 10)
    .option("--grace <ms>", "on SIGTERM, how long runs in flight get before they are handed back", positiveInteger("--grace", 3_600_000), DEFAULT_GRACE_MS)
    .option("--json", "print the listening address as JSON")
    .option("--debug", "print stack traces")
    .showHelpAfterError()
    .exitOverride((error) => process.exit(error.exitCode === 0 ? 0 : 2));
  program.parse(argv);
  const opts = program.opts<{ port: number; host: string; workers: number; grace: number; json?: boolean; debug?: boolean }>();
  // Names this server's connections in pg_stat_activity, per deployment (schema).
  process.env.PGAPPNAME ??= `orchestra serve ${envValue("ORCHESTRA_DB_SCHEMA") ?? "public"}`;
  let server: OrchestraServer;
  try {
    server = await startOrchestraServer({ port: opts.port, host: opts.host, workers: opts.workers, onProgress: (m) => console.error(m) });
  } catch (error) {
    console.error(`orchestra serve: ${opts.debug && error instanceof Error ? error.stack : errorBody(error).message}`);
    process.exit(error instanceof InputError ? 2 : 1);
  }
  const ready = { url: server.url, port: server.port, workers: opts.workers, checkpoints: server.location };
  console.log(opts.json ? JSON.stringify(ready) : `orchestra serve: listening on ${server.url} (${opts.workers} workers, checkpoints: ${server.location})`);
  let signalled = false;
  const stop = (signal: NodeJS.Signals) => {
    if (signalled) process.exit(signal === "SIGINT" ? 130 : 143);
    signalled = true;
    void server.close(opts.grace).then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(`orchestra serve: ${errorBody(error).message}`);
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) await main(process.argv);
