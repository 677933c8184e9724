import { rm } from "node:fs/promises";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openCheckpointer, startEmbeddedPostgres } from "../../checkpoints/index.js";
import { pidOwner, readPostmasterPid } from "../../db/pidfile.js";
import { compileWorkflow } from "../../graphs/parallel_workflow.js";
import { readCallLog, until } from "../support/calls.js";
import { finished, jsonResult, runCli, spawnCli } from "../support/cli.js";
import { embeddedRoot, startEmbeddedOnOsPort } from "../support/embedded.js";
import { ThreadAudit } from "./audit.js";
import { scenario, type Figures } from "./tally.js";

// The CLI on its embedded Postgres, killed with SIGKILL mid-run: its server is orphaned, or
// killed too and leaves a stale postmaster.pid. Either way the next `orchestra resume` gets a
// server back and finishes the run.

// From the OS, when beforeAll initialises the folder; the CLI's servers reuse it.
let PORT: number;
const TASK = "Plan the migration of a payments ledger from MySQL to Postgres";

let root: string;
let dataDir: string;

beforeAll(async () => {
  root = await embeddedRoot("orchestra-embedded-crash-");
  dataDir = path.join(root, "postgres");
  const server = await startEmbeddedOnOsPort({ dataDir });
  PORT = server.port;
  await server.stop();
});
afterAll(async () => {
  const pid = await postmasterPid();
  if (pid !== undefined) killQuietly(pid, "SIGINT");
  await until(
    async () => (await postmasterPid()) === undefined || !alive(pid!),
    "the embedded server to stop",
    15_000,
  ).catch(() => undefined);
  await rm(root, { recursive: true, force: true });
});

function env(log: string): NodeJS.ProcessEnv {
  return {
    DATABASE_URL: "",
    ORCHESTRA_DB_SCHEMA: "",
    ORCHESTRA_EMBEDDED_PG_DIR: dataDir,
    ORCHESTRA_EMBEDDED_PG_PORT: String(PORT),
    ORCHESTRA_OFFLINE_LATENCY_MS: "300",
    ORCHESTRA_OFFLINE_CALL_LOG: log,
  };
}

const postmasterPid = async () => (await readPostmasterPid(dataDir))?.pid;

/** A zombie or a reused pid counts as gone, as it does for the product. */
const alive = (pid: number) => pidOwner(pid) !== "none";

function killQuietly(pid: number, signal: NodeJS.Signals) {
  try {
    process.kill(pid, signal);
  } catch {
    // Already gone.
  }
}

/**
 * Runs `fn` with an audit of the checkpoints in the embedded data folder: on the server running
 * there, or on one started for the audit and stopped after it.
 */
async function withAudit<T>(fn: (audit: ThreadAudit) => Promise<T>): Promise<T> {
  const server = await startEmbeddedPostgres({ dataDir, port: PORT });
  const client = new pg.Client({ connectionString: server.databaseUrl });
  await client.connect();
  const db = await openCheckpointer({ databaseUrl: server.databaseUrl });
  try {
    return await fn(new ThreadAudit(client, "public", compileWorkflow(db.checkpointer)));
  } finally {
    await client.end();
    await db.close();
    await server.stop();
  }
}

/** Starts a run, SIGKILLs it in the first wave (whose alpha branch hangs), and returns what it had saved. */
async function runAndKill(threadId: string, log: string) {
  const child = spawnCli(["run", TASK, "--thread", threadId, "--review", "never", "--json"], {
    ...env(log),
    ORCHESTRA_OFFLINE_FAULTS: JSON.stringify({ research_branch_alpha: { hang: true } }),
  });
  const exited = finished(child);
  // A loaded machine takes seconds to start Postgres before the first call.
  await until(
    async () => (await readCallLog(log)).some((c) => c.node === "research_branch_alpha"),
    "the first wave",
    60_000,
  );
  child.kill("SIGKILL");
  expect((await exited).signal).toBe("SIGKILL");
  return { pid: child.pid, saved: await withAudit((audit) => audit.saved(threadId)) };
}

async function resumeAndCheck(
  threadId: string,
  log: string,
  killed: Awaited<ReturnType<typeof runAndKill>>,
  figures: Figures,
) {
  const resumed = await runCli(["resume", threadId, "--json"], env(log));
  if (resumed.code === 0 && jsonResult(resumed).status === "completed") figures.recovered = 1;
  await withAudit((audit) => audit.checkRecovery(threadId, log, killed, figures));
  expect(resumed.code, resumed.stderr).toBe(0);
  expect(jsonResult(resumed).status).toBe("completed");
  return resumed;
}

// In order: the second starts from the server the first left behind.
describe("embedded Postgres after its parent was killed with SIGKILL", () => {
  it("resume reuses the orphaned server and finishes the run", () =>
    scenario("crash", "embedded Postgres orphaned by SIGKILL", async (figures) => {
      const log = path.join(root, "orphan.jsonl");
      const killed = await runAndKill("embedded-orphan", log);
      figures.faults = 1;
      const orphan = await postmasterPid();
      expect(orphan !== undefined && alive(orphan)).toBe(true);

      const resumed = await resumeAndCheck("embedded-orphan", log, killed, figures);
      expect(resumed.stderr).toContain(
        `Using the embedded Postgres already running in ${dataDir} (pid ${orphan}, port ${PORT})`,
      );
    }));

  it("resume starts a new server over the stale postmaster.pid of a killed one, and finishes the run", () =>
    scenario("crash", "embedded Postgres killed too: stale postmaster.pid", async (figures) => {
      const log = path.join(root, "stale.jsonl");
      const killed = await runAndKill("embedded-stale", log);
      figures.faults = 1;
      const server = (await postmasterPid())!;
      process.kill(server, "SIGKILL");
      await until(() => !alive(server), "the killed server to be gone", 10_000);
      figures.faults = 2;
      expect(await postmasterPid()).toBe(server);

      const resumed = await resumeAndCheck("embedded-stale", log, killed, figures);
      expect(resumed.stderr).toContain(`Starting embedded Postgres in ${dataDir}…`);
    }));
});
