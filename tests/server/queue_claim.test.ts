import { randomUUID } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { migrateServerStore } from "../../checkpoints/server_store.js";
import { RunBus } from "../../server/bus.js";
import { threadLockKey } from "../../checkpoints/thread_lock.js";
import { RunQueue } from "../../server/queue.js";
import { createTestSchema, type TestSchema } from "../support/database.js";

// The runs table as a queue: however many runs are running elsewhere, a queued one is claimable.

let db: TestSchema;
let pool: pg.Pool;
let bus: RunBus;

beforeAll(async () => {
  db = await createTestSchema();
  pool = new pg.Pool({ connectionString: db.databaseUrl });
  await migrateServerStore(pool, db.schema);
  bus = await RunBus.open(pool, db.schema);
});
afterAll(async () => {
  await bus?.close();
  await pool?.end();
  await db?.cleanup();
});

async function insertRun(status: "pending" | "running"): Promise<{ runId: string; threadId: string }> {
  const runId = randomUUID();
  const threadId = randomUUID();
  await pool.query(
    `INSERT INTO "${db.schema}".runs (run_id, thread_id, assistant_id, graph_id, status, kwargs, multitask_strategy)
     VALUES ($1, $2, $3, 'parallel_workflow', $4, '{"config": {}, "stream_mode": ["values"]}', 'reject')`,
    [runId, threadId, randomUUID(), status],
  );
  return { runId, threadId };
}

describe("RunQueue.claim", () => {
  it("claims a queued run behind more running runs than one claim looks at", async () => {
    // Their workers are alive: another session holds each running run's thread lock.
    const workers = await pool.connect();
    const session = await pool.connect();
    try {
      for (let i = 0; i < 40; i++) {
        const { threadId } = await insertRun("running");
        await workers.query("SELECT pg_advisory_lock(hashtext($1))", [threadLockKey(db.schema, threadId)]);
      }
      const queued = await insertRun("pending");
      const queue = new RunQueue(pool, db.schema, bus, "test-worker");

      const claimed = await queue.claim(session, new Set());

      expect(claimed?.run_id).toBe(queued.runId);
      expect(claimed?.status).toBe("running");
    } finally {
      await workers.query("SELECT pg_advisory_unlock_all()");
      await session.query("SELECT pg_advisory_unlock_all()");
      workers.release();
      session.release();
    }
  });
});
