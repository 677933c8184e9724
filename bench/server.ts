import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Client } from "@langchain/langgraph-sdk";
import { LATENCY_ENV } from "../models/offline/runtime.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/** `orchestra serve` processes on one schema, as a deployment of N instances would be. */
export interface ServerFleet {
  clients: Client[];
  pids: number[];
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
        [...(options.nodeOptions ?? []), "--import", "tsx", "--import", path.join(ROOT, "bench/pin_idle_load.ts"), path.join(ROOT, "scripts/orchestra.js"), "serve", "--port", "0", "--json", "--workers", String(options.workers)],
        {
          cwd: ROOT,
          env: {
            ...process.env,
            DATABASE_URL: options.databaseUrl,
            ORCHESTRA_DB_SCHEMA: options.schema,
            ORCHESTRA_MODEL: "offline",
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
    return { clients: urls.map((apiUrl) => new Client({ apiUrl, callerOptions })), pids: children.map((c) => c.pid!), stop };
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
      const line = output.split("\n").find((l) => l.startsWith("{"));
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
  if (final.status !== "completed") throw new Error(`API run on ${threadId} ended ${JSON.stringify(final).slice(0, 300)}`);
}
