import { randomBytes, randomUUID } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signEvent } from "../../state/shared/triggers.js";
import { runCli } from "../support/cli.js";
import { createTestSchema, type TestSchema } from "../support/database.js";
import { type ServerProcess, startServer } from "./support.js";

// Signed HTTP triggers on a real `orchestra serve`: each answer is checked against the rows it
// wrote (runs, threads, trigger_events), so a refused event is seen to write nothing and a
// repeated one to start nothing new.

const RESEARCH_SECRET = randomBytes(16).toString("hex");
const ORDER_SECRET = randomBytes(16).toString("hex");

const ORDER_DEFINITION = `name: order_intake
description: Takes in an order an HTTP trigger sends.
triggers:
  - name: order_received
    source: http
    secret: \${env:ORDER_TRIGGER_SECRET}
    filter: event.type == "order.created"
    input: '{"order_id": event.order.id, "amount": event.order.amount}'
  - name: order_unsigned
    source: http
    secret: \${env:ORDER_UNSET_TRIGGER_SECRET}
steps:
  - stepId: accept
    stepType: sequential
    action: { set: { accepted: "order_id + ' accepted'" } }
`;

let db: TestSchema;
let sql: pg.Client;
let dir: string;
let server: ServerProcess;

beforeAll(async () => {
  db = await createTestSchema();
  sql = new pg.Client({ connectionString: db.databaseUrl });
  await sql.connect();
  dir = await mkdtemp(path.join(os.tmpdir(), "orchestra-triggers-"));
  await writeFile(path.join(dir, "order_intake.yaml"), ORDER_DEFINITION);
  server = await startServer(db.schema, {
    ORCHESTRA_WORKFLOWS_DIR: dir,
    ORCHESTRA_RESEARCH_TRIGGER_SECRET: RESEARCH_SECRET,
    ORDER_TRIGGER_SECRET: ORDER_SECRET,
  });
}, 90_000);
afterAll(async () => {
  await server?.stop("SIGKILL");
  await sql?.end();
  await db?.cleanup();
  if (dir) await rm(dir, { recursive: true, force: true });
});

interface Signed {
  secret?: string;
  timestamp?: number;
  key?: string;
  signature?: string;
}

async function send(
  trigger: string,
  body: string,
  signed: Signed = {},
): Promise<{ status: number; json: Record<string, unknown> }> {
  const timestamp = signed.timestamp ?? Math.floor(Date.now() / 1000);
  const signature = signed.signature ?? signEvent(signed.secret ?? RESEARCH_SECRET, timestamp, body, signed.key);
  const response = await fetch(`${server.url}/triggers/${trigger}`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "x-orchestra-timestamp": String(timestamp),
      "x-orchestra-signature": signature,
      ...(signed.key ? { "idempotency-key": signed.key } : {}),
    },
    body,
  });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

async function count(table: string): Promise<number> {
  const { rows } = await sql.query<{ n: number }>(`SELECT count(*)::int AS n FROM "${db.schema}".${table}`);
  return rows[0]!.n;
}

const counts = async () => ({
  runs: await count("runs"),
  threads: await count("threads"),
  events: await count("trigger_events"),
});

async function triggerMetric(trigger: string, outcome: string): Promise<number> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const line = text
    .split("\n")
    .find((l) => l.startsWith(`orchestra_trigger_events_total{trigger="${trigger}",outcome="${outcome}"}`));
  return line ? Number(line.split(" ").at(-1)) : 0;
}

const task = (words: string) => JSON.stringify({ task: `Compare ${words} for a small island grid` });

describe("POST /triggers/{name}", () => {
  it("starts a run for a signed event, once per idempotency key however often it comes", async () => {
    const before = await counts();
    const key = randomUUID();
    const first = await send("research_request", task("solar and wind"), { key });
    expect(first.status, JSON.stringify(first.json)).toBe(202);
    expect(first.json).toMatchObject({ trigger: "research_request", event_id: key, deduplicated: false });
    const { rows } = await sql.query(
      `SELECT thread_id, graph_id, kwargs->'input' AS input, metadata FROM "${db.schema}".runs WHERE run_id = $1`,
      [first.json.run_id],
    );
    expect(rows[0]).toMatchObject({
      thread_id: first.json.thread_id,
      graph_id: "parallel_workflow",
      input: { task: expect.stringContaining("solar and wind") },
      metadata: { event_id: key },
    });
    const thread = await server.client().threads.get(first.json.thread_id as string);
    expect(thread.metadata).toMatchObject({ trigger: "research_request", event_id: key });

    // A retry, and five deliveries at once: each answers with the first run.
    const again = await Promise.all(
      Array.from({ length: 6 }, () => send("research_request", task("solar and wind"), { key })),
    );
    for (const answer of again)
      expect(answer).toMatchObject({
        status: 202,
        json: { run_id: first.json.run_id, thread_id: first.json.thread_id, deduplicated: true },
      });
    expect(await counts()).toEqual({ runs: before.runs + 1, threads: before.threads + 1, events: before.events + 1 });
    expect(await triggerMetric("research_request", "deduplicated")).toBe(6);
  });

  it("without an idempotency key, the same body is the same event", async () => {
    const before = await counts();
    const body = task("tidal and geothermal");
    const [a, b] = [await send("research_request", body), await send("research_request", body)];
    expect(a.status).toBe(202);
    expect(b.json).toMatchObject({ run_id: a.json.run_id, deduplicated: true });
    expect((await counts()).runs).toBe(before.runs + 1);
  });

  it("refuses a wrong, missing or stale signature with 401, and writes nothing", async () => {
    const before = await counts();
    const body = task("nuclear and hydro");
    const wrong = await send("research_request", body, { secret: "not-the-secret" });
    expect(wrong.status).toBe(401);
    expect(wrong.json.message).toMatch(/signature does not match/);
    const missing = await fetch(`${server.url}/triggers/research_request`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
    });
    expect(missing.status).toBe(401);
    const stale = await send("research_request", body, { timestamp: Math.floor(Date.now() / 1000) - 301 });
    expect(stale.status).toBe(401);
    expect(stale.json.message).toMatch(/more than 300 s/);
    // A captured request replayed under another idempotency key no longer matches its signature.
    const signature = signEvent(RESEARCH_SECRET, Math.floor(Date.now() / 1000), body, "key-1");
    expect((await send("research_request", body, { key: "key-2", signature })).status).toBe(401);
    expect(await counts()).toEqual(before);
    expect(await triggerMetric("research_request", "rejected")).toBeGreaterThanOrEqual(4);
  });

  it("answers 422 for a filtered or malformed event, 404 for an unknown trigger, 503 when its secret is unset", async () => {
    const before = await counts();
    const filtered = await send("research_request", JSON.stringify({ task: "" }));
    expect(filtered.status).toBe(422);
    expect(filtered.json.message).toMatch(/filter refused the event/);
    const malformed = await send("research_request", "{not json");
    expect(malformed.status).toBe(422);
    expect(malformed.json.message).toMatch(/not valid JSON/);
    const unknown = await send("no_such_trigger", task("anything"));
    expect(unknown.status).toBe(404);
    expect(unknown.json.message).toMatch(/no trigger named "no_such_trigger"/);
    const unset = await send("order_unsigned", "{}");
    expect(unset.status).toBe(503);
    expect(unset.json.message).toMatch(/ORDER_UNSET_TRIGGER_SECRET/);
    expect(server.output()).toMatch(
      /^\{"level":"warn".*"msg":"trigger order_unsigned: ORDER_UNSET_TRIGGER_SECRET is not set/m,
    );
    expect(server.output().match(/ORDER_UNSET_TRIGGER_SECRET is not set/g)).toHaveLength(1);
    expect(await counts()).toEqual(before);
  });

  it("starts an engine definition's run with the mapped input, the event id in its audit trail", async () => {
    const key = `order-${randomUUID()}`;
    const event = JSON.stringify({ type: "order.created", order: { id: "A-17", amount: 40 } });
    const answer = await send("order_received", event, { secret: ORDER_SECRET, key });
    expect(answer.status, JSON.stringify(answer.json)).toBe(202);
    const client = server.client();
    await client.runs.join(answer.json.thread_id as string, answer.json.run_id as string);
    const state = await client.threads.getState<{
      status: string;
      context: Record<string, unknown>;
      auditTrail: { event: string; detail?: string }[];
    }>(answer.json.thread_id as string);
    expect(state.values.status).toBe("COMPLETED");
    expect(state.values.context).toMatchObject({ order_id: "A-17", amount: 40, accepted: "A-17 accepted" });
    expect(state.values.auditTrail[0]).toMatchObject({
      event: "event_received",
      detail: `trigger order_received, event ${key}`,
    });
    const other = await send("order_received", JSON.stringify({ type: "order.cancelled", order: { id: "A-18" } }), {
      secret: ORDER_SECRET,
    });
    expect(other.status).toBe(422);
  });

  it("orchestra events send signs with the secret from the environment; triggers list and test show the rest", async () => {
    const env = { ORCHESTRA_RESEARCH_TRIGGER_SECRET: RESEARCH_SECRET, ORCHESTRA_WORKFLOWS_DIR: dir };
    const args = [
      "events",
      "send",
      "research_request",
      "--data",
      task("wave power"),
      "--url",
      server.url,
      "--id",
      `cli-${randomUUID()}`,
      "--json",
    ];
    const sent = await runCli(args, env);
    expect(sent.code, sent.stderr).toBe(0);
    const first = JSON.parse(sent.stdout) as { run_id: string };
    const again = await runCli(args, env);
    expect(JSON.parse(again.stdout)).toMatchObject({ run_id: first.run_id, deduplicated: true });
    const unsigned = await runCli(["events", "send", "research_request", "--data", "{}", "--url", server.url], {
      ORCHESTRA_RESEARCH_TRIGGER_SECRET: "",
    });
    expect(unsigned.code).toBe(2);
    expect(unsigned.stderr).toMatch(/ORCHESTRA_RESEARCH_TRIGGER_SECRET is not set/);

    const listed = await runCli(["triggers", "list", "--json"], env);
    expect((JSON.parse(listed.stdout) as { name: string }[]).map((t) => t.name)).toEqual(
      expect.arrayContaining(["research_request", "order_received"]),
    );
    const tested = await runCli(
      [
        "triggers",
        "test",
        "order_received",
        "--data",
        JSON.stringify({ type: "order.created", order: { id: "B-2", amount: 5 } }),
        "--json",
      ],
      env,
    );
    expect(JSON.parse(tested.stdout)).toMatchObject({
      accepted: true,
      input: { definition: "order_intake", input: { order_id: "B-2", amount: 5 } },
    });
  });
});
