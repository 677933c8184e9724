import type { Client } from "@langchain/langgraph-sdk";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { until } from "../support/calls.js";
import { createTestSchema, type TestSchema } from "../support/database.js";
import { type ServerProcess, startServer, TASK } from "./support.js";

// Runs that stay running: branch_merger hangs (until cancelled), so a resumed thread is busy
// for as long as a test needs.

let db: TestSchema;
let sql: pg.Client;
let server: ServerProcess;
let client: Client;

beforeAll(async () => {
  db = await createTestSchema();
  sql = new pg.Client({ connectionString: db.databaseUrl });
  await sql.connect();
  server = await startServer(db.schema, {
    ORCHESTRA_OFFLINE_FAULTS: JSON.stringify({ branch_merger: { hang: true } }),
  });
  client = server.client();
}, 90_000);
afterAll(async () => {
  await server?.stop();
  await sql?.end();
  await db?.cleanup();
});

const approve = { command: { resume: { action: "approve", reviewer: "ada" } } };
const reject = { command: { resume: { action: "reject", reviewer: "carol" } } };

async function status(runId: string): Promise<string | undefined> {
  const { rows } = await sql.query<{ status: string }>(`SELECT status FROM "${db.schema}".runs WHERE run_id = $1`, [
    runId,
  ]);
  return rows[0]?.status;
}

/** A thread paused at its first review. */
async function pausedThread(): Promise<string> {
  const thread = await client.threads.create();
  await client.runs.wait(thread.thread_id, "parallel_workflow", { input: TASK });
  expect((await client.threads.get(thread.thread_id)).status).toBe("interrupted");
  return thread.thread_id;
}

/** Approves the review in the background; the run hangs in branch_merger, after saving the step before it. */
async function hangingRun(threadId: string, extra: Record<string, unknown> = {}): Promise<string> {
  const run = await client.runs.create(threadId, "parallel_workflow", { ...approve, ...extra });
  await until(
    async () => (await client.threads.getState(threadId)).next.includes("branch_merger"),
    "the approval's first checkpoint",
  );
  return run.run_id;
}

/** Every key of the thread's rows in the three checkpoint tables. */
async function checkpointRows(
  threadId: string,
): Promise<{ checkpoints: string[]; checkpoint_writes: string[]; checkpoint_blobs: string[] }> {
  const keys: Record<string, string> = {
    checkpoints: "checkpoint_ns || '/' || checkpoint_id",
    checkpoint_writes: "checkpoint_ns || '/' || checkpoint_id || '/' || task_id || '/' || idx",
    checkpoint_blobs: "checkpoint_ns || '/' || channel || '/' || version",
  };
  const result = { checkpoints: [] as string[], checkpoint_writes: [] as string[], checkpoint_blobs: [] as string[] };
  for (const name of ["checkpoints", "checkpoint_writes", "checkpoint_blobs"] as const) {
    const key = keys[name]!;
    const { rows } = await sql.query<{ key: string }>(
      `SELECT ${key} AS key FROM "${db.schema}".${name} WHERE thread_id = $1 ORDER BY 1`,
      [threadId],
    );
    result[name] = rows.map((r) => r.key);
  }
  return result;
}

describe("multitask strategies and cancels", () => {
  it("reject answers 409; enqueue waits; interrupt ends the running and the queued run; cancelMany and delete", async () => {
    const threadId = await pausedThread();
    const running = await hangingRun(threadId);
    await expect(client.runs.create(threadId, "parallel_workflow", { input: null })).rejects.toThrow(/409/);

    const queued = await client.runs.create(threadId, "parallel_workflow", {
      input: null,
      multitaskStrategy: "enqueue",
    });
    expect(await status(queued.run_id)).toBe("pending");
    expect(await status(running)).toBe("running");

    const interrupting = await client.runs.create(threadId, "parallel_workflow", {
      input: null,
      multitaskStrategy: "interrupt",
    });
    await until(async () => (await status(running)) === "interrupted", "the running run to end interrupted");
    expect(await status(queued.run_id)).toBe("interrupted");
    // The interrupting run continues from where the interrupted one stopped: branch_merger, which hangs again.
    await until(async () => (await status(interrupting.run_id)) === "running", "the interrupting run to start");
    await expect(client.runs.delete(threadId, interrupting.run_id)).rejects.toThrow(/409/);

    await client.runs.cancelMany({ threadId, action: "interrupt" });
    await until(async () => (await status(interrupting.run_id)) === "interrupted", "cancelMany to interrupt the run");
    expect((await client.threads.getState(threadId)).next).toEqual(["branch_merger"]);

    await client.runs.delete(threadId, queued.run_id);
    await expect(client.runs.get(threadId, queued.run_id)).rejects.toThrow(/404/);
    expect((await client.runs.list(threadId)).map((r) => r.run_id)).not.toContain(queued.run_id);
  });

  it("a rollback cancel deletes the run and all it saved: checkpoints, their blobs, and its writes at the checkpoint it started from", async () => {
    const threadId = await pausedThread();
    const before = await checkpointRows(threadId);
    const stateBefore = await client.threads.getState(threadId);
    const run = await hangingRun(threadId);
    const during = await checkpointRows(threadId);
    expect(during.checkpoints.length).toBeGreaterThan(before.checkpoints.length);
    expect(during.checkpoint_blobs.length).toBeGreaterThan(before.checkpoint_blobs.length);

    await client.runs.cancel(threadId, run, true, "rollback");
    await until(async () => (await status(run)) === undefined, "the rolled-back run to go");
    expect(await checkpointRows(threadId)).toEqual(before);
    const { rowCount } = await sql.query(`SELECT 1 FROM "${db.schema}".run_events WHERE run_id = $1`, [run]);
    expect(rowCount).toBe(0);
    const stateAfter = await client.threads.getState(threadId);
    expect(stateAfter.values).toEqual(stateBefore.values);
    expect(stateAfter.tasks.flatMap((t) => t.interrupts)).toEqual(stateBefore.tasks.flatMap((t) => t.interrupts));
  });

  it("rollback as a multitask strategy: the running run goes, and the new one runs from the state before it", async () => {
    const threadId = await pausedThread();
    const before = await checkpointRows(threadId);
    const rolledBack = await hangingRun(threadId);
    const replacing = await client.runs.create(threadId, "parallel_workflow", {
      ...reject,
      multitaskStrategy: "rollback",
    });
    await client.runs.join(threadId, replacing.run_id);
    expect(await status(rolledBack)).toBeUndefined();
    expect(await status(replacing.run_id)).toBe("success");
    // Rejected at the first review: had the approval's writes survived, the run would have gone on to branch_merger.
    const values = (await client.threads.getState(threadId)).values as { status: string; failureReason: string };
    expect(values).toMatchObject({ status: "rejected", failureReason: "rejected by carol at sync_point_manager" });
    expect((await checkpointRows(threadId)).checkpoints.slice(0, before.checkpoints.length)).toEqual(
      before.checkpoints,
    );
  });
});
