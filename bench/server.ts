import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import type { AddressInfo } from "node:net";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { serve } from "@hono/node-server";
import { Client } from "@langchain/langgraph-sdk";
import { Hono } from "hono";
import pg from "pg";
import { LATENCY_ENV } from "../models/offline/runtime.js";
import { interleaved, ratio, spread, timed, type Spread } from "./stats.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/** `orchestra serve` processes on one schema, as a deployment of N instances would be. */
export interface ServerFleet {
  clients: Client[];
  /** The processes' ids, for their CPU time. */
  pids: number[];
  /** Their connections' application_name in pg_stat_activity. */
  appName: string;
  stop(): Promise<void>;
}

export async function startFleet(options: {
  processes: number;
  /** Runs each process executes at once. */
  workers: number;
  databaseUrl: string;
  schema: string;
  latencyMs: number;
  /** Extra flags for each server's node, e.g. --cpu-prof. */
  nodeOptions?: string[];
}): Promise<ServerFleet> {
  const children: ChildProcess[] = [];
  const stop = async () => {
    await Promise.all(
      children.map(async (child) => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        child.kill("SIGTERM");
        await once(child, "exit");
      }),
    );
  };
  try {
    const urls: string[] = [];
    for (let i = 0; i < options.processes; i++) {
      const child = spawn(
        process.execPath,
        [
          ...(options.nodeOptions ?? []),
          "--import",
          "tsx",
          "--import",
          path.join(ROOT, "bench/pin_idle_load.ts"),
          path.join(ROOT, "scripts/orchestra.js"),
          "serve",
          "--port",
          "0",
          "--json",
          "--workers",
          String(options.workers),
        ],
        {
          cwd: ROOT,
          env: {
            ...process.env,
            DATABASE_URL: options.databaseUrl,
            ORCHESTRA_DB_SCHEMA: options.schema,
            ORCHESTRA_MODEL: "offline",
            PGAPPNAME: `orchestra serve ${options.schema}`,
            [LATENCY_ENV]: String(options.latencyMs),
          },
          stdio: ["ignore", "pipe", "pipe"],
        },
      );
      children.push(child);
      urls.push(await listeningUrl(child));
    }
    // The SDK sends at most 4 requests at once per client unless told otherwise: the bench's
    // threads are as many clients, each waiting on its run.
    const callerOptions = { maxRetries: 0, maxConcurrency: Infinity };
    return {
      clients: urls.map((apiUrl) => new Client({ apiUrl, callerOptions })),
      pids: children.map((child) => child.pid!),
      appName: `orchestra serve ${options.schema}`,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

function listeningUrl(child: ChildProcess): Promise<string> {
  let output = "";
  return new Promise((resolve, reject) => {
    child.stderr!.on("data", (chunk) => (output += chunk));
    child.stdout!.on("data", (chunk) => {
      output += chunk;
      // stderr's log lines are JSON too: the ready line is the one that names the url.
      const line = output.split("\n").find((l) => l.startsWith('{"url"'));
      if (line) resolve((JSON.parse(line) as { url: string }).url);
    });
    child.once("exit", () => reject(new Error(`a bench server exited before it was ready:\n${output}`)));
  });
}

/** One run through the API, on a thread made beforehand: what `run` times. */
export async function apiRun(
  client: Client,
  graphId: string,
  threadId: string,
  input: Record<string, unknown>,
  configurable: Record<string, unknown>,
): Promise<void> {
  const final = (await client.runs.wait(threadId, graphId, { input, config: { configurable } })) as { status?: string };
  if (final.status !== "completed")
    throw new Error(`API run on ${threadId} ended ${JSON.stringify(final).slice(0, 300)}`);
}

const DRAIN_POLL_MS = 200;

export interface ApiCreatesResult {
  pairs: number;
  /** `pairs` threads.create then runs.create, all pairs at once, through the SDK, on a server with no run in flight. */
  createsMs: Spread;
  /** The baseline: as many HTTP round trips (two per pair, all pairs at once) to a Hono route in this process that runs `SELECT 1`. */
  selectOneMs: Spread;
  createsOverSelectOne: number;
}

/**
 * What creating threads and runs costs on the server against the least any HTTP API on Postgres
 * costs: the same number of requests to a route that does one `SELECT 1`. After each repeat the
 * created runs are left to end, so each repeat starts on an idle server.
 */
export async function measureApiCreates(options: {
  client: Client;
  graphId: string;
  input: Record<string, unknown>;
  configurable: Record<string, unknown>;
  databaseUrl: string;
  /** The server's schema: its runs table tells when every created run has ended. */
  schema: string;
  pairs: number;
  repeats: number;
}): Promise<ApiCreatesResult> {
  const { client, pairs } = options;
  // As many connections as the server's own pool has for requests beside its workers'.
  const pool = new pg.Pool({ connectionString: options.databaseUrl, max: 6 });
  const app = new Hono().post("/select-one", async (c) => c.json((await pool.query("SELECT 1 AS one")).rows[0]));
  const baseline = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const listening = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }, () => resolve(listening));
  });
  const url = `http://127.0.0.1:${(baseline.address() as AddressInfo).port}/select-one`;
  const selectOne = async () =>
    (await fetch(url, { method: "POST", body: "{}", headers: { "content-type": "application/json" } })).json();
  try {
    await Promise.all(Array.from({ length: 10 }, selectOne));
    const createPair = async () => {
      const thread = await client.threads.create();
      await client.runs.create(thread.thread_id, options.graphId, {
        input: options.input,
        config: { configurable: options.configurable },
      });
    };
    // Read from the runs table, not by joining each run: 200 joins at once would be a load of their own.
    const drain = async () => {
      for (;;) {
        const { rows } = await pool.query<{ active: number }>(
          `SELECT count(*)::int AS active FROM "${options.schema}".runs WHERE status IN ('pending', 'running')`,
        );
        if (rows[0]!.active === 0) return;
        await new Promise((resolve) => setTimeout(resolve, DRAIN_POLL_MS));
      }
    };
    await createPair();
    await drain();
    const runs = await interleaved(options.repeats, {
      creates: async () => {
        const time = await timed(() => Promise.all(Array.from({ length: pairs }, createPair)));
        await drain();
        return time;
      },
      selectOne: () =>
        timed(() => Promise.all(Array.from({ length: pairs }, async () => (await selectOne(), await selectOne())))),
    });
    const createsMs = spread(runs.creates.wall);
    const selectOneMs = spread(runs.selectOne.wall);
    return { pairs, createsMs, selectOneMs, createsOverSelectOne: ratio(createsMs.median, selectOneMs.median) };
  } finally {
    await new Promise<void>((resolve) => baseline.close(() => resolve()));
    await pool.end();
  }
}

/** User + system CPU of a process so far, ms (Linux /proc; 0 where it cannot be read). */
async function cpuMsOf(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => "");
  // Fields after the command name, which is in parentheses and may hold spaces: utime and stime are the 12th and 13th.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return ((Number(fields[11]) || 0) + (Number(fields[12]) || 0)) * 10;
}

export interface FleetLoad {
  /** CPU each server process used during the window, ms. */
  processCpuMs: number[];
  /** CPU of the Postgres backends serving the fleet during the window, ms (those seen by the sampler). */
  postgresCpuMs: number;
  /** Most sessions the fleet held at once, sampled every 50 ms from pg_stat_activity. */
  peakSessions: number;
}

/** Watches a fleet from now until `stop`: its processes' CPU, its Postgres backends' CPU and its session count. */
export async function watchFleet(fleet: ServerFleet, sql: pg.Pool): Promise<{ stop(): Promise<FleetLoad> }> {
  const processStart = await Promise.all(fleet.pids.map(cpuMsOf));
  const backends = new Map<number, { first: number; last: number }>();
  let peakSessions = 0;
  let watching = true;
  const sample = async () => {
    const { rows } = await sql.query<{ pid: number }>("SELECT pid FROM pg_stat_activity WHERE application_name = $1", [
      fleet.appName,
    ]);
    peakSessions = Math.max(peakSessions, rows.length);
    for (const { pid } of rows) {
      const cpu = await cpuMsOf(pid);
      const seen = backends.get(pid);
      // A backend first seen now may have started before the window: count from here.
      if (seen) seen.last = Math.max(seen.last, cpu);
      else backends.set(pid, { first: cpu, last: cpu });
    }
  };
  await sample();
  const sampler = (async () => {
    while (watching) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      await sample().catch(() => undefined);
    }
  })();
  return {
    async stop() {
      watching = false;
      await sampler;
      await sample().catch(() => undefined);
      const processEnd = await Promise.all(fleet.pids.map(cpuMsOf));
      return {
        processCpuMs: processEnd.map((end, i) => end - processStart[i]!),
        postgresCpuMs: [...backends.values()].reduce((sum, b) => sum + b.last - b.first, 0),
        peakSessions,
      };
    },
  };
}
