import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { until } from "../support/calls.js";
import { createTestSchema, type TestSchema } from "../support/database.js";
import { type ServerProcess, startServer, TASK } from "./support.js";

// Threads and store items with a time-to-live, swept by the server; a thread's storage in bytes.

let db: TestSchema;
let sql: pg.Client;
let server: ServerProcess;

/** Six seconds: long enough to read a thread before it expires; the sweeper runs twice a second here. */
const SHORT_TTL = 0.1;

beforeAll(async () => {
  db = await createTestSchema();
  sql = new pg.Client({ connectionString: db.databaseUrl });
  await sql.connect();
  server = await startServer(db.schema, { ORCHESTRA_TTL_SWEEP_MS: "500" });
}, 90_000);
afterAll(async () => {
  await server?.stop("SIGKILL");
  await sql?.end();
  await db?.cleanup();
});

/** Rows the thread has left in each of its tables. */
interface ThreadRows {
  threads: number;
  checkpoints: number;
  checkpoint_blobs: number;
  checkpoint_writes: number;
  runs: number;
  run_events: number;
}

async function rowsOf(threadId: string): Promise<ThreadRows> {
  const t = (name: string) => `"${db.schema}".${name}`;
  const { rows } = await sql.query<ThreadRows>(
    `SELECT (SELECT count(*) FROM ${t("threads")} WHERE thread_id = $1)::int AS threads,
       (SELECT count(*) FROM ${t("checkpoints")} WHERE thread_id = $1)::int AS checkpoints,
       (SELECT count(*) FROM ${t("checkpoint_blobs")} WHERE thread_id = $1)::int AS checkpoint_blobs,
       (SELECT count(*) FROM ${t("checkpoint_writes")} WHERE thread_id = $1)::int AS checkpoint_writes,
       (SELECT count(*) FROM ${t("runs")} WHERE thread_id = $1)::int AS runs,
       (SELECT count(*) FROM ${t("run_events")} e WHERE e.run_id = ANY($2::uuid[]))::int AS run_events`,
    [threadId, await runIds(threadId)],
  );
  return rows[0]!;
}

const runIdsSeen = new Map<string, string[]>();
async function runIds(threadId: string): Promise<string[]> {
  const { rows } = await sql.query<{ run_id: string }>(`SELECT run_id FROM "${db.schema}".runs WHERE thread_id = $1`, [
    threadId,
  ]);
  const seen = new Set([...(runIdsSeen.get(threadId) ?? []), ...rows.map((row) => row.run_id)]);
  runIdsSeen.set(threadId, [...seen]);
  return [...seen];
}

async function storage(threadId: string): Promise<{ total: number; checkpoints: number }> {
  const response = await fetch(`${server.url}/threads/${threadId}/storage`);
  expect(response.status).toBe(200);
  return (await response.json()) as { total: number; checkpoints: number };
}

type Ttl = { strategy: "delete"; ttl: number };

describe("thread TTL", () => {
  it("deletes an expired thread with all its rows", async () => {
    const client = server.client();
    const thread = await client.threads.create({ ttl: { strategy: "delete", ttl: SHORT_TTL } });
    await client.runs.wait(thread.thread_id, "parallel_workflow", { input: TASK, context: { review: "never" } });
    const before = await rowsOf(thread.thread_id);
    expect(before).toMatchObject({ threads: 1, runs: 1 });
    expect(before.checkpoints * before.checkpoint_blobs * before.run_events).toBeGreaterThan(0);
    await until(async () => (await rowsOf(thread.thread_id)).threads === 0, "the sweeper to delete the thread");
    expect(await rowsOf(thread.thread_id)).toEqual({
      threads: 0,
      checkpoints: 0,
      checkpoint_blobs: 0,
      checkpoint_writes: 0,
      runs: 0,
      run_events: 0,
    });
    await expect(client.threads.get(thread.thread_id)).rejects.toThrow(/404/);
  });

  it("keeps a keep_latest thread at its latest checkpoint: getState and a resume work, and its storage shrinks as reported", async () => {
    const client = server.client();
    const thread = await client.threads.create({ ttl: { strategy: "keep_latest", ttl: SHORT_TTL } as unknown as Ttl });
    const paused = (await client.runs.wait(thread.thread_id, "parallel_workflow", { input: TASK })) as {
      __interrupt__?: unknown[];
    };
    expect(paused.__interrupt__).toHaveLength(1);
    const before = await storage(thread.thread_id);
    expect((await rowsOf(thread.thread_id)).checkpoints).toBeGreaterThan(1);
    await until(async () => (await rowsOf(thread.thread_id)).checkpoints === 1, "the sweeper to prune the thread");
    const after = await storage(thread.thread_id);
    expect(after.total).toBeLessThan(before.total);
    expect(after.checkpoints).toBeLessThan(before.checkpoints);

    const state = await client.threads.getState(thread.thread_id);
    expect(state.tasks.flatMap((task) => task.interrupts)[0]?.value).toMatchObject({ point: "sync_point_manager" });
    const resumed = (await client.runs.wait(thread.thread_id, "parallel_workflow", {
      command: { resume: { action: "approve", reviewer: "ada" } },
    })) as {
      __interrupt__?: { value: { point: string } }[];
    };
    expect(resumed.__interrupt__?.[0]?.value.point).toBe("quality_validator");
  });

  it("refuses an unknown strategy with one line, creating nothing", async () => {
    const response = await fetch(`${server.url}/threads`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ thread_id: "ttl-refused", ttl: { strategy: "archive", ttl: 5 } }),
    });
    expect(response.status).toBe(422);
    expect(((await response.json()) as { message: string }).message).toMatch(
      /^invalid ttl.strategy: .*delete.*keep_latest/,
    );
    expect((await rowsOf("ttl-refused")).threads).toBe(0);
  });
});

describe("store item TTL", () => {
  const expiresAt = async (key: string) => {
    const { rows } = await sql.query<{ expires_at: Date }>(
      `SELECT expires_at FROM "${db.schema}".store_items WHERE key = $1`,
      [key],
    );
    return rows[0]?.expires_at;
  };

  it("expires an item, and a read refreshes its TTL unless it says not to", async () => {
    const { store } = server.client();
    await store.putItem(["ttl"], "kept", { n: 1 }, { ttl: 60 });
    await store.putItem(["ttl"], "short", { n: 2 }, { ttl: SHORT_TTL });
    const first = (await expiresAt("kept"))!;
    await store.getItem(["ttl"], "kept", { refreshTtl: false });
    expect(await expiresAt("kept")).toEqual(first);
    await store.getItem(["ttl"], "kept");
    expect((await expiresAt("kept"))!.getTime()).toBeGreaterThan(first.getTime());
    const searched = (await expiresAt("kept"))!;
    expect((await store.searchItems(["ttl"], { refreshTtl: true })).items.map((item) => item.key)).toContain("kept");
    expect((await expiresAt("kept"))!.getTime()).toBeGreaterThan(searched.getTime());

    await until(async () => (await expiresAt("short")) === undefined, "the sweeper to delete the expired item");
    expect(await store.getItem(["ttl"], "short")).toBeNull();
    expect(await store.getItem(["ttl"], "kept")).toMatchObject({ value: { n: 1 } });
  });
});
