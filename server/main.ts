import { randomUUID } from "node:crypto";
import type { AddressInfo } from "node:net";
import os from "node:os";
import { serve } from "@hono/node-server";
import { openCheckpointer } from "../checkpoints/index.js";
import { envValue } from "../db/env.js";
import { rootLog } from "../checkpoints/log.js";
import { migrateAll } from "../db/migrate.js";
import { createApp } from "./app.js";
import { RunBus } from "./queue/bus.js";
import { CronScheduler } from "./crons.js";
import { EventLog } from "./events.js";
import { EventWaits } from "./event_waits.js";
import { EventWaitsRepo } from "./storage/trigger_events.js";
import { STUDIO_ORIGIN } from "./http.js";
import { AssistantsRepo } from "./storage/assistants.js";
import { deleteStatelessThread } from "./storage/threads.js";
import { servedGraphs } from "../graphs/registry.js";
import { workflowTriggers } from "../graphs/triggers.js";
import { RunQueue } from "./queue/runs.js";
import { RunWorkers } from "./queue/worker.js";
import { WebhookDeliverer, webhookDeliverySettings } from "./queue/webhooks.js";
import { TtlSweeper, ttlSettings } from "./ttl.js";
import { authConfigFromEnv } from "./auth/config.js";
import { authentication } from "./auth/middleware.js";

export interface ServerOptions {
  port: number;
  host: string;
  /** Runs this process executes at once. */
  workers: number;
  /** Postgres connections of this process's pool, whatever `workers` is (LISTEN has one more of its own). */
  dbPool: number;
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

export const DEFAULT_DB_POOL = 10;

export async function startOrchestraServer(options: ServerOptions): Promise<OrchestraServer> {
  // Before any connection: a wrong auth setting stops the server having written nothing.
  const authenticate = await authentication(await authConfigFromEnv());
  const webhookSettings = webhookDeliverySettings();
  const ttl = ttlSettings();
  const triggers = await workflowTriggers();
  // Runs hold no connection (a thread is owned through its lease row), so the API, the runs'
  // statements and the checkpointer share one small pool however many runs are in flight.
  const db = await openCheckpointer({
    databaseUrl: options.databaseUrl,
    onProgress: options.onProgress,
    maxConnections: options.dbPool,
  });
  const { pool, schema, checkpointer, fence } = db;
  let bus: RunBus | undefined;
  try {
    await migrateAll(pool, schema);
    const graphs = new Map(
      (await servedGraphs()).map((served) => [served.graphId, { served, graph: served.compile(checkpointer) }]),
    );
    const assistants = new AssistantsRepo(pool, schema);
    for (const { served } of graphs.values()) await assistants.ensureForGraph(served.graphId, served.description);
    const runBus = await RunBus.open(pool, schema);
    bus = runBus;
    const events = new EventLog(pool, schema, bus);
    const queue = new RunQueue(pool, schema, bus, `${os.hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`);
    const workers = new RunWorkers({
      pool,
      schema,
      fence,
      queue,
      bus,
      events,
      graphs: new Map([...graphs].map(([id, entry]) => [id, entry.graph])),
      deleteThread: (threadId) => deleteStatelessThread(pool, schema, threadId),
      log: rootLog(),
    });
    let accepting = true;
    const extraOrigins = (envValue("ORCHESTRA_CORS_ORIGINS") ?? "")
      .split(",")
      .map((o) => o.trim())
      .filter(Boolean);
    const {
      app,
      runs,
      storage,
      triggers: triggerService,
    } = createApp({
      pool,
      schema,
      graphs,
      bus,
      events,
      authenticate,
      corsOrigins: [STUDIO_ORIGIN, ...extraOrigins],
      triggers,
      accepting: () => accepting,
      storeRefreshOnRead: ttl.ORCHESTRA_STORE_TTL_REFRESH_ON_READ,
    });
    const deliverer = new WebhookDeliverer({
      pool,
      schema,
      bus,
      settings: webhookSettings,
      owner: queue.workerId,
      log: (message) => rootLog().warn(message),
    });
    const sweeper = new TtlSweeper(pool, schema, ttl, (message) => rootLog().warn(message));
    for (const line of triggerService.missingSecrets()) rootLog().warn(line);
    const waits = new EventWaits({
      pool,
      bus,
      repo: new EventWaitsRepo(pool, schema),
      graphs,
      runs,
      log: (message) => rootLog().warn(message),
    });
    const crons = new CronScheduler({ pool, crons: storage.crons, runs, log: (message) => rootLog().warn(message) });
    const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
      const listening = serve({ fetch: app.fetch, port: options.port, hostname: options.host }, () =>
        resolve(listening),
      );
      listening.once("error", reject);
    });
    // Started once listening: a server that cannot listen has no sessions held to wait for on close.
    workers.start(options.workers);
    crons.start();
    deliverer.start();
    sweeper.start();
    waits.start();
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
          await sweeper.stop();
          await waits.stop();
          await workers.stop(graceMs);
          // After the workers: the webhooks of runs that ended in the grace period stay in the outbox for the next instance.
          await deliverer.stop();
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
    await bus?.close();
    await db.close();
    throw error;
  }
}
