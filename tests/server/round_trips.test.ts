import { serve } from "@hono/node-server";
import { Client } from "@langchain/langgraph-sdk";
import type { AddressInfo } from "node:net";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BatchedPostgresSaver } from "../../checkpoints/saver.js";
import { migrateAll } from "../../db/migrate.js";
import { servedGraphs } from "../../graphs/registry.js";
import { createApp } from "../../server/app.js";
import { RunBus } from "../../server/queue/bus.js";
import { EventLog } from "../../server/events.js";
import { AssistantsRepo } from "../../server/storage/assistants.js";
import { createTestSchema, type TestSchema } from "../support/database.js";
import { TASK } from "./support.js";

// Creating a thread and creating a run each cost one statement, so one round trip to Postgres:
// the app runs in this process (no workers, so nothing else queries) and every statement its
// pool's connections send is recorded.

let db: TestSchema;
let pool: pg.Pool;
let bus: RunBus;
let server: ReturnType<typeof serve>;
let client: Client;
let recording: string[] | undefined;

beforeAll(async () => {
  db = await createTestSchema();
  pool = new pg.Pool({ connectionString: db.databaseUrl, max: 5 });
  pool.on("connect", (connection) => {
    const query = connection.query.bind(connection) as (...args: unknown[]) => unknown;
    Object.assign(connection, {
      query: (...args: unknown[]) => {
        const first = args[0];
        recording?.push(typeof first === "string" ? first : String((first as { text?: string }).text));
        return query(...args);
      },
    });
  });
  await migrateAll(pool, db.schema);
  // The graphs read state through the same recorded pool, as on the server.
  const checkpointer = new BatchedPostgresSaver(pool, db.schema);
  const graphs = new Map(
    (await servedGraphs()).map((served) => [served.graphId, { served, graph: served.compile(checkpointer) }]),
  );
  const assistants = new AssistantsRepo(pool, db.schema);
  for (const { served } of graphs.values()) await assistants.ensureForGraph(served.graphId, served.description);
  bus = await RunBus.open(pool, db.schema);
  const { app } = createApp({
    pool,
    schema: db.schema,
    graphs,
    bus,
    events: new EventLog(pool, db.schema, bus),
    corsOrigins: [],
    authenticate: async (_c, next) => next(),
    accepting: () => true,
  });
  server = await new Promise((resolve) => {
    const listening = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }, () => resolve(listening));
  });
  client = new Client({
    apiUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    callerOptions: { maxRetries: 0 },
  });
});

afterAll(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  await bus?.close();
  await pool?.end();
  await db?.cleanup();
});

async function statementsOf(call: () => Promise<unknown>): Promise<string[]> {
  recording = [];
  try {
    await call();
    return recording;
  } finally {
    recording = undefined;
  }
}

describe("API round trips", () => {
  it("creates a thread in one statement and a run on it in one statement", async () => {
    // The first run reads the assistant; later ones queue against the version read then.
    const first = await client.threads.create();
    await client.runs.create(first.thread_id, "parallel_workflow", { input: TASK });

    let threadId = "";
    const threadStatements = await statementsOf(
      async () => ({ thread_id: threadId } = await client.threads.create({ metadata: { kind: "bench" } })),
    );
    expect(threadStatements).toHaveLength(1);
    const runStatements = await statementsOf(() => client.runs.create(threadId, "parallel_workflow", { input: TASK }));
    expect(runStatements).toHaveLength(1);
    const statelessStatements = await statementsOf(() =>
      client.runs.create(null, "parallel_workflow", { input: TASK }),
    );
    expect(statelessStatements).toHaveLength(1);

    // What the one statement answered is what a reader sees after.
    const thread = await client.threads.get(threadId);
    expect(thread).toMatchObject({ status: "busy", metadata: { kind: "bench", graph_id: "parallel_workflow" } });
    expect(await client.runs.list(threadId)).toMatchObject([{ status: "pending", assistant_id: expect.any(String) }]);
  });

  it("checks a run again against an assistant changed since this process read it", async () => {
    const assistant = await client.assistants.create({
      graphId: "parallel_workflow",
      config: { configurable: { review: "never" } },
    });
    const thread = await client.threads.create();
    await client.runs.create(thread.thread_id, assistant.assistant_id, { input: TASK });
    // Changed behind this process's back, as another instance would.
    await pool.query(
      `UPDATE "${db.schema}".assistants SET config = '{"configurable": {"review": "sometimes"}}', version = version + 1, updated_at = now() WHERE assistant_id = $1`,
      [assistant.assistant_id],
    );
    const other = await client.threads.create();
    await expect(client.runs.create(other.thread_id, assistant.assistant_id, { input: TASK })).rejects.toThrow(
      /review/,
    );
  });
});
