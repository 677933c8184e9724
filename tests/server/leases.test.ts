import { randomUUID } from "node:crypto";
import pg from "pg";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { until } from "../support/calls.js";
import { runCli } from "../support/cli.js";
import { createTestSchema, type TestSchema } from "../support/database.js";
import { type ServerProcess, startServer, TASK } from "./support.js";

// Runs owned through fenced thread leases: sessions do not grow with the runs in flight, a paused
// worker that lost its lease writes nothing more, a dead one's runs move on within the lease, and
// the CLI takes the same lease. Each test has its own schema, so no other test's server takes its runs.

const noReview = { review: "never" };
const HANG_AT_MERGER = { ORCHESTRA_OFFLINE_FAULTS: JSON.stringify({ branch_merger: { hang: true } }) };

let sql: pg.Client;
const schemas: TestSchema[] = [];
const servers: ServerProcess[] = [];

beforeAll(async () => {
  const first = await createTestSchema();
  schemas.push(first);
  sql = new pg.Client({ connectionString: first.databaseUrl });
  await sql.connect();
});
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.stop("SIGKILL")));
});
afterAll(async () => {
  await sql?.end();
  for (const db of schemas) await db.cleanup();
});

async function schema(): Promise<TestSchema> {
  const db = await createTestSchema();
  schemas.push(db);
  return db;
}

async function serve(db: TestSchema, env: NodeJS.ProcessEnv = {}, args: string[] = []): Promise<ServerProcess> {
  const server = await startServer(db.schema, env, args);
  servers.push(server);
  return server;
}

async function one<T extends pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<T> {
  return (await sql.query<T>(text, values)).rows[0]!;
}

/** Everything stored for a thread and its runs, counted: checkpoints, writes, blobs and stream events. */
async function threadRows(db: TestSchema, threadId: string) {
  const t = (name: string) => `"${db.schema}".${name}`;
  return one<{ checkpoints: number; writes: number; blobs: number; events: number }>(
    `SELECT (SELECT count(*)::int FROM ${t("checkpoints")} WHERE thread_id = $1) AS checkpoints,
            (SELECT count(*)::int FROM ${t("checkpoint_writes")} WHERE thread_id = $1) AS writes,
            (SELECT count(*)::int FROM ${t("checkpoint_blobs")} WHERE thread_id = $1) AS blobs,
            (SELECT count(*)::int FROM ${t("run_events")} e JOIN ${t("runs")} r USING (run_id) WHERE r.thread_id = $1) AS events`,
    [threadId],
  );
}

describe("sessions", () => {
  it("300 runs in flight with --workers 300 use at most the pool + 2 Postgres sessions", async () => {
    const db = await schema();
    const server = await serve(db, HANG_AT_MERGER, ["--workers", "300"]);
    const appName = `orchestra serve ${db.schema}`;
    let peak = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const { n } = await one<{ n: number }>(
          "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1",
          [appName],
        );
        peak = Math.max(peak, n);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    })();
    try {
      const client = server.client();
      for (let batch = 0; batch < 6; batch++) {
        await Promise.all(
          Array.from({ length: 50 }, async () => {
            const thread = await client.threads.create();
            await client.runs.create(thread.thread_id, "parallel_workflow", { input: TASK, context: noReview });
          }),
        );
      }
      // Every run is past its fan-out and waits on the model at branch_merger, none finished.
      await until(
        async () =>
          (
            await one<{ n: number }>(
              `SELECT count(*)::int AS n FROM "${db.schema}".runs r WHERE r.status = 'running' AND (
                 SELECT count(DISTINCT task_id) FROM "${db.schema}".checkpoint_writes w WHERE w.thread_id = r.thread_id AND w.channel = 'completedBranches') >= 3`,
            )
          ).n === 300,
        "300 runs waiting at branch_merger",
        240_000,
      );
    } finally {
      sampling = false;
      await sampler;
    }
    expect(peak).toBeGreaterThan(0);
    expect(peak).toBeLessThanOrEqual(10 + 2);
  }, 300_000);
});

describe("fencing", () => {
  it("a worker paused past its lease is taken over, and once woken writes nothing more for the run and says it lost the lease", async () => {
    const db = await schema();
    const a = await serve(db, { ORCHESTRA_OFFLINE_LATENCY_MS: "3000" });
    const client = a.client();
    const thread = await client.threads.create();
    const run = await client.runs.create(thread.thread_id, "parallel_workflow", { input: TASK, context: noReview });
    // task_analyzer's step is saved: A's branches are waiting on the model.
    await until(
      async () =>
        (
          await one<{ n: number }>(
            `SELECT count(*)::int AS n FROM "${db.schema}".checkpoints WHERE thread_id = $1 AND (metadata->>'step')::int >= 1`,
            [thread.thread_id],
          )
        ).n > 0,
      "task_analyzer's checkpoint",
      60_000,
    );
    a.child.kill("SIGSTOP");
    try {
      const b = await serve(db, { ORCHESTRA_OFFLINE_LATENCY_MS: "50" });
      const final = (await b.client().runs.join(thread.thread_id, run.run_id)) as {
        status: string;
        completedBranches: Record<string, unknown>;
      };
      expect(final.status).toBe("completed");
      const { attempt, status } = await one<{ attempt: number; status: string }>(
        `SELECT attempt, status FROM "${db.schema}".runs WHERE run_id = $1`,
        [run.run_id],
      );
      expect({ attempt, status }).toEqual({ attempt: 2, status: "success" });
      const before = await threadRows(db, thread.thread_id);

      a.child.kill("SIGCONT");
      await until(() => /lost the lease on run/.test(a.output()), "A to say it lost the lease", 30_000);
      // A's model calls ended as it woke, and it had steps left to save: give them time to try.
      await new Promise((resolve) => setTimeout(resolve, 3000));
      expect(await threadRows(db, thread.thread_id)).toEqual(before);
      expect(a.output()).toMatch(
        new RegExp(`lost the lease on run ${run.run_id} \\(thread ${thread.thread_id}\\): another worker took it over`),
      );
      // One chain of checkpoints, attempt 1's all before attempt 2's; each branch's result once.
      const history = await b.client().threads.getHistory(thread.thread_id, { limit: 500 });
      for (let i = 0; i < history.length - 1; i++)
        expect(history[i]!.parent_checkpoint?.checkpoint_id).toBe(history[i + 1]!.checkpoint.checkpoint_id);
      const attempts = history.map((h) => (h.metadata as { run_attempt?: number }).run_attempt).reverse();
      expect(attempts.filter((n) => n !== undefined)).toEqual([
        ...attempts.filter((n) => n === 1),
        ...attempts.filter((n) => n === 2),
      ]);
      const { n: branchTasks } = await one<{ n: number }>(
        `SELECT count(DISTINCT task_id)::int AS n FROM "${db.schema}".checkpoint_writes WHERE thread_id = $1 AND channel = 'completedBranches'`,
        [thread.thread_id],
      );
      expect(Object.keys(final.completedBranches).length).toBe(branchTasks);
    } finally {
      a.child.kill("SIGCONT");
    }
  }, 240_000);

  it("a run of a SIGKILLed worker is resumed by a running instance within 15 s", async () => {
    const db = await schema();
    const a = await serve(db, { ORCHESTRA_OFFLINE_FAULTS: JSON.stringify({ research_branch_gamma: { hang: true } }) });
    const thread = await a.client().threads.create();
    const run = await a.client().runs.create(thread.thread_id, "parallel_workflow", { input: TASK, context: noReview });
    await until(
      async () =>
        (await one<{ status: string }>(`SELECT status FROM "${db.schema}".runs WHERE run_id = $1`, [run.run_id]))
          .status === "running",
      "A to claim the run",
    );
    // B runs beside A: A's lease keeps the run A's until A dies.
    const b = await serve(db);
    await a.stop("SIGKILL");
    const killed = Date.now();
    await until(
      async () =>
        (await one<{ attempt: number }>(`SELECT attempt FROM "${db.schema}".runs WHERE run_id = $1`, [run.run_id]))
          .attempt === 2,
      "B to take the run over",
      60_000,
    );
    const takeover = Date.now() - killed;
    expect(takeover).toBeLessThan(15_000);
    const final = (await b.client().runs.join(thread.thread_id, run.run_id)) as { status: string };
    expect(final.status).toBe("completed");
  }, 180_000);
});

describe("the CLI and the server share the thread lease", () => {
  it("refuses a CLI resume with one line while a SIGKILLed server's lease lasts, and lets it go on once the lease expired", async () => {
    const db = await schema();
    // A long lease: the CLI starts well within it on a loaded machine.
    const lease = { ORCHESTRA_LEASE_MS: "30000" };
    const server = await serve(db, { ...HANG_AT_MERGER, ...lease });
    const client = server.client();
    const threadId = randomUUID();
    await client.threads.create({ threadId });
    await client.runs.create(threadId, "parallel_workflow", { input: TASK, context: noReview });
    await until(
      async () => (await client.threads.getState(threadId)).next.includes("branch_merger"),
      "the run to reach branch_merger",
      60_000,
    );
    await server.stop("SIGKILL");
    const env = { DATABASE_URL: db.databaseUrl, ORCHESTRA_DB_SCHEMA: db.schema, ORCHESTRA_MODEL: "offline", ...lease };

    const refused = await runCli(["resume", threadId, "--json"], env);
    expect(refused.code).toBe(2);
    expect(refused.stderr.trim()).toBe(
      `orchestra: thread ${threadId} is being run by another process right now: wait for it to pause or finish`,
    );

    const { expires } = await one<{ expires: number }>(
      `SELECT (extract(epoch FROM expires_at - clock_timestamp()) * 1000)::float8 AS expires FROM "${db.schema}".thread_leases WHERE thread_id = $1`,
      [threadId],
    );
    expect(expires).toBeLessThanOrEqual(30_000);
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, expires) + 200));
    const resumed = await runCli(["resume", threadId, "--json"], env);
    expect(resumed.code, resumed.stderr).toBe(0);
    const { n } = await one<{ n: number }>(
      `SELECT count(*)::int AS n FROM "${db.schema}".thread_leases WHERE thread_id = $1`,
      [threadId],
    );
    expect(n).toBe(0);
  }, 180_000);
});
