import { randomUUID } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestSchema, type TestSchema } from "../support/database.js";
import { type ServerProcess, startServer, TASK } from "./support.js";

// Bad requests get the right 4xx and one line, write nothing, and leave the server up.

let db: TestSchema;
let sql: pg.Client;
let server: ServerProcess;
let threadId: string;
const KEY = `key-${randomUUID()}`;

beforeAll(async () => {
  db = await createTestSchema();
  sql = new pg.Client({ connectionString: db.databaseUrl });
  await sql.connect();
  server = await startServer(db.schema, { ORCHESTRA_API_KEY: KEY });
  threadId = (await server.client(KEY).threads.create()).thread_id;
}, 90_000);
afterAll(async () => {
  await server?.stop();
  await sql?.end();
  await db?.cleanup();
});

async function rowCounts(): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const table of ["assistants", "threads", "runs", "run_events", "checkpoints", "checkpoint_writes"]) {
    const { rows } = await sql.query<{ n: number }>(`SELECT count(*)::int AS n FROM "${db.schema}".${table}`);
    counts[table] = rows[0]!.n;
  }
  return counts;
}

function call(method: string, path: string, body?: unknown, headers: Record<string, string> = { "x-api-key": KEY }) {
  return fetch(`${server.url}${path}`, {
    method,
    headers: { "content-type": "application/json", ...headers },
    ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) }),
  });
}

const run = (input: unknown, extra: Record<string, unknown> = {}) => ({
  assistant_id: "parallel_workflow",
  input,
  ...extra,
});

const BAD: [string, string, string, unknown, number, RegExp][] = [
  ["malformed JSON", "POST", "/threads", "{not json", 400, /not valid JSON/],
  ["no task", "POST", `/threads/{t}/runs`, run({}), 422, /exactly one of 'task' or 'taskQueue'/],
  [
    "both task and taskQueue",
    "POST",
    `/threads/{t}/runs`,
    run({ task: "a", taskQueue: [{ description: "b" }] }),
    422,
    /exactly one/,
  ],
  ["unknown input key", "POST", `/threads/{t}/runs/wait`, run({ task: "a", colour: "red" }), 422, /colour/],
  [
    "bad setting in context",
    "POST",
    `/threads/{t}/runs`,
    run(TASK, { context: { qualityThreshold: 7 } }),
    422,
    /qualityThreshold/,
  ],
  [
    "bad setting in configurable",
    "POST",
    `/threads/{t}/runs/stream`,
    run(TASK, { config: { configurable: { review: "sometimes" } } }),
    422,
    /review/,
  ],
  ["unknown stream mode", "POST", `/threads/{t}/runs`, run(TASK, { stream_mode: "everything" }), 422, /stream_mode/],
  [
    "unknown multitask strategy",
    "POST",
    `/threads/{t}/runs`,
    run(TASK, { multitask_strategy: "maybe" }),
    422,
    /multitask_strategy/,
  ],
  ["no assistant id", "POST", `/threads/{t}/runs`, { input: TASK }, 422, /assistant_id/],
  [
    "unknown assistant",
    "POST",
    `/threads/{t}/runs`,
    { assistant_id: "no_such_graph", input: TASK },
    404,
    /assistant "no_such_graph" not found/,
  ],
  ["unknown assistant uuid", "GET", `/assistants/${randomUUID()}`, undefined, 404, /not found/],
  ["unknown thread", "POST", `/threads/${randomUUID()}/runs`, run(TASK), 404, /not found/],
  ["unknown thread state", "GET", `/threads/${randomUUID()}/state`, undefined, 404, /not found/],
  ["unknown run", "GET", `/threads/{t}/runs/${randomUUID()}`, undefined, 404, /not found/],
  ["malformed run id", "POST", `/threads/{t}/runs/not-a-uuid/cancel`, undefined, 404, /not found/],
  ["assistant of an unknown graph", "POST", "/assistants", { graph_id: "nope" }, 404, /graph "nope" not found/],
  // One thread-id rule everywhere (state/shared/thread_id.ts): spaces are legal, control characters are not.
  ["thread id with a tab", "POST", "/threads", { thread_id: "a\tb" }, 422, /thread id/],
  ["negative history limit", "POST", `/threads/{t}/history`, { limit: -1 }, 422, /limit/],
  [
    "state edit on a thread with no graph",
    "POST",
    `/threads/{t}/state`,
    { values: {}, as_node: "branch_merger" },
    422,
    /no graph yet/,
  ],
  ["unknown route", "GET", "/nowhere", undefined, 404, /not a route/],
  [
    "cancel with an unknown action",
    "POST",
    `/threads/{t}/runs/${randomUUID()}/cancel?action=explode`,
    undefined,
    404,
    /not found/,
  ],
];

describe("bad requests", () => {
  it(`answers ${BAD.length} bad requests with their 4xx and one line, writes no row, and stays up`, async () => {
    const before = await rowCounts();
    for (const [name, method, path, body, status, message] of BAD) {
      const response = await call(method, path.replace("{t}", threadId), body);
      const text = await response.text();
      expect({ name, status: response.status }).toEqual({ name, status });
      expect(text.split("\n")).toHaveLength(1);
      expect((JSON.parse(text) as { message: string }).message, name).toMatch(message);
    }
    expect(await rowCounts()).toEqual(before);
    expect((await call("GET", "/ok")).status).toBe(200);
  });

  it("refuses a second run on a busy thread under reject with 409, and queues it under enqueue", async () => {
    const client = server.client(KEY);
    // A CLI's lease on the thread keeps the first run pending: the thread is busy for as long as we hold it.
    await sql.query(
      `INSERT INTO "${db.schema}".thread_leases VALUES ($1, 'a CLI', nextval('"${db.schema}".thread_lease_tokens'), now() + interval '10 minutes')`,
      [threadId],
    );
    const first = await client.runs.create(threadId, "parallel_workflow", { input: TASK });
    const before = await rowCounts();
    const response = await call("POST", `/threads/${threadId}/runs`, run(TASK));
    expect(response.status).toBe(409);
    expect(((await response.json()) as { message: string }).message).toMatch(/is busy: run .* is pending/);
    expect(await rowCounts()).toEqual(before);
    const queued = await client.runs.create(threadId, "parallel_workflow", {
      command: { resume: { action: "approve" } },
      multitaskStrategy: "enqueue",
    });
    await sql.query(`DELETE FROM "${db.schema}".thread_leases WHERE thread_id = $1`, [threadId]);
    await client.runs.join(threadId, first.run_id);
    await client.runs.join(threadId, queued.run_id);
    const runs = await client.runs.list(threadId);
    expect(runs.map((r) => r.status)).toEqual(["success", "success"]);
    expect((await client.threads.getState(threadId)).next).toEqual(["quality_validator"]);
  });
});

describe("auth", () => {
  it("answers 401 without the key or with a wrong one, and serves the SDK with it, as x-api-key or Bearer", async () => {
    const attempts: Record<string, string>[] = [{}, { "x-api-key": "wrong" }, { authorization: "Bearer wrong" }];
    for (const headers of attempts) {
      const response = await call("POST", "/threads/search", {}, headers);
      expect(response.status).toBe(401);
      expect(((await response.json()) as { message: string }).message).toMatch(/API key/);
    }
    expect((await call("POST", "/threads/search", {}, { authorization: `Bearer ${KEY}` })).status).toBe(200);
    await expect(server.client().threads.search()).rejects.toThrow(/401/);
    expect(Array.isArray(await server.client(KEY).threads.search())).toBe(true);
  });

  it("lets Studio's origin call it", async () => {
    const response = await fetch(`${server.url}/threads/search`, {
      method: "OPTIONS",
      headers: {
        origin: "https://smith.langchain.com",
        "access-control-request-method": "POST",
        "access-control-request-headers": "x-api-key",
      },
    });
    expect(response.headers.get("access-control-allow-origin")).toBe("https://smith.langchain.com");
  });
});
