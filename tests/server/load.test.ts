import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestSchema, type TestSchema } from "../support/database.js";
import { type ServerProcess, startServer, TASK } from "./support.js";

let db: TestSchema;
let sql: pg.Client;
let server: ServerProcess;

beforeAll(async () => {
  db = await createTestSchema();
  sql = new pg.Client({ connectionString: db.databaseUrl });
  await sql.connect();
  server = await startServer(db.schema, {}, ["--workers", "20"]);
}, 90_000);
afterAll(async () => {
  await server?.stop();
  await sql?.end();
  await db?.cleanup();
});

describe("load", () => {
  it("completes 100 concurrent runs, each once, none lost", async () => {
    const client = server.client();
    const runs = await Promise.all(
      Array.from({ length: 100 }, async () => {
        const thread = await client.threads.create();
        return client.runs.create(thread.thread_id, "parallel_workflow", { input: TASK, context: { review: "never" } });
      }),
    );
    const results = await Promise.all(
      runs.map((run) => client.runs.join(run.thread_id, run.run_id) as Promise<{ status?: string }>),
    );
    expect(results.filter((r) => r.status === "completed")).toHaveLength(100);
    const { rows } = await sql.query<{ status: string; attempt: number; n: number }>(
      `SELECT status, attempt, count(*)::int AS n FROM "${db.schema}".runs GROUP BY status, attempt`,
    );
    expect(rows).toEqual([{ status: "success", attempt: 1, n: 100 }]);
    // Each run's stream started once: one metadata event per run.
    const { rows: starts } = await sql.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM "${db.schema}".run_events WHERE event = 'metadata'`,
    );
    expect(starts[0]!.n).toBe(100);
  }, 300_000);
});
