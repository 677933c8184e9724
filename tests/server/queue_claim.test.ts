import { randomUUID } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { migrateServerStore } from "../../checkpoints/server_store.js";
import { RunBus } from "../../server/queue/bus.js";
import { RunQueue } from "../../server/queue/runs.js";
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
  it("claims a queued run behind more running runs than one claim takes", async () => {
    // Their workers are alive: each running run's thread has an unexpired lease.
    for (let i = 0; i < 40; i++) {
      const { threadId } = await insertRun("running");
      await pool.query(
        `INSERT INTO "${db.schema}".thread_leases VALUES ($1, 'another worker', nextval('"${db.schema}".thread_lease_tokens'), now() + interval '1 minute')`,
        [threadId],
      );
    }
    const queued = await insertRun("pending");
    const queue = new RunQueue(pool, db.schema, bus, "test-worker");

    const claimed = await queue.claim(1, new Set());

    expect(claimed.map((run) => [run.run_id, run.status])).toEqual([[queued.runId, "running"]]);
    expect(await queue.claim(1, new Set())).toEqual([]);
  });

  it("takes over a running run whose lease expired, under a greater token", async () => {
    const { runId, threadId } = await insertRun("running");
    const { rows } = await pool.query<{ token: string }>(
      `INSERT INTO "${db.schema}".thread_leases VALUES ($1, 'a dead worker', nextval('"${db.schema}".thread_lease_tokens'), now() - interval '1 second')
       RETURNING token::text`,
      [threadId],
    );
    const queue = new RunQueue(pool, db.schema, bus, "test-worker");

    const [claimed] = await queue.claim(100, new Set());

    expect(claimed?.run_id).toBe(runId);
    expect(BigInt(claimed!.lease_token!)).toBeGreaterThan(BigInt(rows[0]!.token));
    const lease = await pool.query(`SELECT owner FROM "${db.schema}".thread_leases WHERE thread_id = $1`, [threadId]);
    expect(lease.rows).toEqual([{ owner: "test-worker" }]);
  });
});
