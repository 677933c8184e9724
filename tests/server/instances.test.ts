import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { callsPerNode, readCallLog, until } from "../support/calls.js";
import { createTestSchema, type TestSchema } from "../support/database.js";
import { type ServerProcess, startServer, TASK } from "./support.js";

// Several `orchestra serve` processes on one schema: runs survive SIGKILL and SIGTERM of the
// process running them, and a cancel reaches the run wherever it runs.

let db: TestSchema;
let sql: pg.Client;
let dir: string;
const servers: ServerProcess[] = [];

beforeAll(async () => {
  db = await createTestSchema();
  sql = new pg.Client({ connectionString: db.databaseUrl });
  await sql.connect();
  dir = await mkdtemp(path.join(os.tmpdir(), "orchestra-serve-"));
}, 60_000);
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.stop("SIGKILL")));
});
afterAll(async () => {
  await sql?.end();
  await db?.cleanup();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function serve(env: NodeJS.ProcessEnv = {}, args: string[] = []): Promise<ServerProcess> {
  const server = await startServer(db.schema, env, args);
  servers.push(server);
  return server;
}

async function runStatus(runId: string): Promise<string | undefined> {
  const { rows } = await sql.query<{ status: string }>(`SELECT status FROM "${db.schema}".runs WHERE run_id = $1`, [
    runId,
  ]);
  return rows[0]?.status;
}

/** Branch tasks whose result is saved as a write: their step may still be running, their work is done. */
async function savedBranches(threadId: string): Promise<number> {
  const { rows } = await sql.query<{ n: number }>(
    `SELECT count(DISTINCT task_id)::int AS n FROM "${db.schema}".checkpoint_writes WHERE thread_id = $1 AND channel = 'completedBranches'`,
    [threadId],
  );
  return rows[0]!.n;
}

const noReview = { review: "never" };

describe("many instances on one Postgres", () => {
  it("finishes on another instance a run whose server was SIGKILLed mid-fan-out, without running its saved branches again", async () => {
    const logA = path.join(dir, "a.jsonl");
    const logB = path.join(dir, "b.jsonl");
    const a = await serve({
      ORCHESTRA_OFFLINE_CALL_LOG: logA,
      ORCHESTRA_OFFLINE_FAULTS: JSON.stringify({ research_branch_gamma: { hang: true } }),
    });
    const client = a.client();
    const thread = await client.threads.create();
    const run = await client.runs.create(thread.thread_id, "parallel_workflow", { input: TASK, context: noReview });
    await until(async () => (await savedBranches(thread.thread_id)) >= 2, "two branches saved while gamma hangs");
    const before = callsPerNode(await readCallLog(logA));
    expect(before.research_branch_gamma).toBe(1);
    await a.stop("SIGKILL");

    const b = await serve({ ORCHESTRA_OFFLINE_CALL_LOG: logB });
    const final = (await b.client().runs.join(thread.thread_id, run.run_id)) as {
      status: string;
      completedBranches: object;
    };
    expect(final.status).toBe("completed");
    expect(await runStatus(run.run_id)).toBe("success");
    const after = callsPerNode(await readCallLog(logB));
    // The branches saved before the kill are not called again; the hung one is.
    expect(after.research_branch_gamma).toBe(1);
    expect(after.task_analyzer).toBeUndefined();
    const saved = Object.keys(before).filter(
      (node) => node.startsWith("research_branch_") && node !== "research_branch_gamma",
    );
    for (const node of saved) expect(after[node]).toBeUndefined();
    // The history is one chain from the input to the end.
    const history = await b.client().threads.getHistory(thread.thread_id, { limit: 500 });
    expect(history.at(-1)!.metadata).toMatchObject({ source: "input" });
    for (let i = 0; i < history.length - 1; i++) {
      expect(history[i]!.parent_checkpoint?.checkpoint_id).toBe(history[i + 1]!.checkpoint.checkpoint_id);
    }
  }, 120_000);

  it("stops a run on A when the cancel is sent to B: the run ends interrupted and the thread resumes", async () => {
    const a = await serve({ ORCHESTRA_OFFLINE_LATENCY_MS: "300" });
    // B takes requests and runs none: the run can only be on A.
    const b = await serve({}, ["--workers", "0"]);
    const thread = await a.client().threads.create();
    const run = await a.client().runs.create(thread.thread_id, "parallel_workflow", { input: TASK, context: noReview });
    await until(async () => (await runStatus(run.run_id)) === "running", "the run running on A");
    await b.client().runs.cancel(thread.thread_id, run.run_id, true);
    expect(await runStatus(run.run_id)).toBe("interrupted");
    expect((await b.client().threads.get(thread.thread_id)).status).not.toBe("busy");
    const resumed = (await b
      .client()
      .runs.wait(thread.thread_id, "parallel_workflow", { input: null, context: noReview })) as { status: string };
    expect(resumed.status).toBe("completed");
  }, 120_000);

  it("hands a run back on SIGTERM once the grace period is over, and another instance finishes it", async () => {
    const a = await serve({ ORCHESTRA_OFFLINE_FAULTS: JSON.stringify({ research_branch_gamma: { hang: true } }) }, [
      "--grace",
      "300",
    ]);
    const thread = await a.client().threads.create();
    const run = await a.client().runs.create(thread.thread_id, "parallel_workflow", { input: TASK, context: noReview });
    await until(async () => (await savedBranches(thread.thread_id)) >= 2, "two branches saved while gamma hangs");
    expect(await a.stop("SIGTERM")).toBe(0);
    expect(await runStatus(run.run_id)).toBe("pending");

    const b = await serve();
    const final = (await b.client().runs.join(thread.thread_id, run.run_id)) as { status: string };
    expect(final.status).toBe("completed");
    expect(await runStatus(run.run_id)).toBe("success");
  }, 120_000);

  it("runs created on A are executed by A or B, each exactly once", async () => {
    const a = await serve({ ORCHESTRA_OFFLINE_LATENCY_MS: "20" });
    await serve({ ORCHESTRA_OFFLINE_LATENCY_MS: "20" });
    const client = a.client();
    const runs = await Promise.all(
      Array.from({ length: 8 }, async () => {
        const thread = await client.threads.create();
        return client.runs.create(thread.thread_id, "parallel_workflow", { input: TASK, context: noReview });
      }),
    );
    for (const run of runs) await client.runs.join(run.thread_id, run.run_id);
    const { rows } = await sql.query<{ status: string; attempt: number }>(
      `SELECT status, attempt FROM "${db.schema}".runs WHERE run_id = ANY($1)`,
      [runs.map((r) => r.run_id)],
    );
    expect(rows).toHaveLength(8);
    for (const row of rows) expect(row).toEqual({ status: "success", attempt: 1 });
  }, 120_000);
});
