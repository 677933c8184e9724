import { randomBytes, randomUUID } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { signEvent } from "../../state/shared/triggers.js";
import { until } from "../support/calls.js";
import { createTestSchema, type TestSchema } from "../support/database.js";
import { type ServerProcess, startServer } from "./support.js";

// wait_event on real `orchestra serve` processes: the thread sleeps as an interrupt, recorded in
// event_waits; a signal trigger's event with its correlation key resumes it (payload as the step's
// output), another key leaves it waiting, the timeout takes onTimeout, and the wait outlives its server.

const SECRET = randomBytes(16).toString("hex");

/** A wait whose timeout `seconds` ends it with `onTimeout`. */
const definition = (name: string, seconds: number, onTimeout: string) => `name: ${name}
globalVariables: { order_id: "none" }
steps:
  - stepId: reserve_stock
    stepType: sequential
    action: { set: { stock_reserved: "true" } }
    rollbackActions: [{ set: { stock_reserved: "false" } }]
  - stepId: await_payment
    stepType: wait_event
    dependencies: [reserve_stock]
    waitEvent: { correlationKey: order_id, filter: "event.amount > 0", timeoutSeconds: ${seconds}, onTimeout: ${onTimeout} }
    outputMapping: { payment_id: "has(output.payment_id) ? output.payment_id : 'none'" }
  - stepId: ship_order
    stepType: sequential
    dependencies: [await_payment]
    action: { set: { shipped: "true" } }
`;

const SIGNALLED = `${definition("order_signalled", 3600, "fail")}triggers:
  - name: payment_signal
    source: http
    secret: \${env:PAYMENT_SIGNAL_SECRET}
    action: signal
    correlation: event.order_id
    input: '{"payment_id": event.payment_id, "amount": event.amount}'
`;

let db: TestSchema;
let sql: pg.Client;
let dir: string;
const servers: ServerProcess[] = [];

beforeAll(async () => {
  db = await createTestSchema();
  sql = new pg.Client({ connectionString: db.databaseUrl });
  await sql.connect();
  dir = await mkdtemp(path.join(os.tmpdir(), "orchestra-event-waits-"));
  await writeFile(path.join(dir, "order_signalled.yaml"), SIGNALLED);
  await writeFile(path.join(dir, "order_lapsing.yaml"), definition("order_lapsing", 1, "continue"));
  await writeFile(path.join(dir, "order_compensated.yaml"), definition("order_compensated", 1, "compensate"));
}, 60_000);
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.stop("SIGKILL")));
});
afterAll(async () => {
  await sql?.end();
  await db?.cleanup();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function serve(): Promise<ServerProcess> {
  const server = await startServer(db.schema, { ORCHESTRA_WORKFLOWS_DIR: dir, PAYMENT_SIGNAL_SECRET: SECRET });
  servers.push(server);
  return server;
}

async function signal(server: ServerProcess, event: Record<string, unknown>, key = randomUUID()) {
  const body = JSON.stringify(event);
  const timestamp = Math.floor(Date.now() / 1000);
  const response = await fetch(`${server.url}/triggers/payment_signal`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "x-orchestra-timestamp": String(timestamp),
      "x-orchestra-signature": signEvent(SECRET, timestamp, body, key),
      "idempotency-key": key,
    },
    body,
  });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

async function waitsOf(threadId: string): Promise<{ correlation_key: string; step_id: string }[]> {
  const { rows } = await sql.query(
    `SELECT correlation_key, step_id FROM "${db.schema}".event_waits WHERE thread_id = $1`,
    [threadId],
  );
  return rows;
}

interface OrderState {
  status: string;
  context: Record<string, unknown>;
  intermediateResults: Record<string, unknown>;
  auditTrail: { event: string; stepId?: string; detail?: string }[];
  recovery: Record<string, { kind: string; status: string }>;
}

async function startOrder(server: ServerProcess, name: string, orderId: string): Promise<string> {
  const client = server.client();
  const thread = await client.threads.create();
  const run = await client.runs.create(thread.thread_id, "enterprise_workflow", {
    input: { definition: name, input: { order_id: orderId } },
  });
  await client.runs.join(thread.thread_id, run.run_id);
  return thread.thread_id;
}

describe("wait_event", () => {
  it("sleeps until the event with its key, which resumes it with the payload, also after its server restarted", async () => {
    const first = await serve();
    const orderId = `O-${randomUUID().slice(0, 8)}`;
    const threadId = await startOrder(first, "order_signalled", orderId);
    const asleep = await first.client().threads.getState<OrderState>(threadId);
    expect(asleep.next).toEqual(["event_worker"]);
    expect(asleep.tasks[0]!.interrupts[0]!.value).toMatchObject({ kind: "wait_event", correlationKey: orderId });
    await until(async () => (await waitsOf(threadId)).length === 1, "the wait recorded");
    expect(await waitsOf(threadId)).toEqual([{ correlation_key: orderId, step_id: "await_payment" }]);

    // Another order's payment, and this order's with a payment the wait's filter refuses: it sleeps on.
    expect((await signal(first, { order_id: "O-other", payment_id: "P-0", amount: 10 })).status).toBe(409);
    expect((await signal(first, { order_id: orderId, payment_id: "P-0", amount: 0 })).status).toBe(409);
    expect(await waitsOf(threadId)).toHaveLength(1);
    expect((await first.client().threads.get(threadId)).status).toBe("interrupted");

    // The server that ran it goes; the wait is in Postgres, and a new server resumes it.
    await first.stop("SIGKILL");
    const second = await serve();
    const key = randomUUID();
    const resumed = await signal(second, { order_id: orderId, payment_id: "P-77", amount: 80 }, key);
    expect(resumed.status, JSON.stringify(resumed.json)).toBe(202);
    expect(resumed.json).toMatchObject({ thread_id: threadId, deduplicated: false });
    const client = second.client();
    await client.runs.join(threadId, resumed.json.run_id as string);
    const done = await client.threads.getState<OrderState>(threadId);
    expect(done.values.status).toBe("COMPLETED");
    expect(done.values.intermediateResults.await_payment).toEqual({ payment_id: "P-77", amount: 80 });
    expect(done.values.context).toMatchObject({ payment_id: "P-77", shipped: true });
    expect(done.values.auditTrail).toContainEqual(
      expect.objectContaining({
        event: "event_received",
        stepId: "await_payment",
        detail: expect.stringContaining(key),
      }),
    );
    expect(await waitsOf(threadId)).toEqual([]);
    // The same event again resumes nothing.
    expect(await signal(second, { order_id: orderId, payment_id: "P-77", amount: 80 }, key)).toMatchObject({
      status: 202,
      json: { run_id: resumed.json.run_id, deduplicated: true },
    });
  });

  it("takes onTimeout when no event comes: continue goes on, compensate rolls back", async () => {
    const server = await serve();
    const client = server.client();
    const [lapsing, compensated] = await Promise.all([
      startOrder(server, "order_lapsing", "O-late"),
      startOrder(server, "order_compensated", "O-later"),
    ]);
    const final = async (threadId: string) => {
      let state: OrderState | undefined;
      await until(async () => {
        state = (await client.threads.getState<OrderState>(threadId)).values;
        return ["COMPLETED", "FAILED"].includes(state.status) && (await client.threads.get(threadId)).status === "idle";
      }, `thread ${threadId} ended`);
      return state!;
    };
    const continued = await final(lapsing);
    expect(continued.status).toBe("COMPLETED");
    expect(continued.intermediateResults.await_payment).toEqual({ timedOut: true, correlationKey: "O-late" });
    expect(continued.context).toMatchObject({ payment_id: "none", shipped: true });
    const rolledBack = await final(compensated);
    expect(rolledBack.status).toBe("FAILED");
    expect(rolledBack.context).toMatchObject({ stock_reserved: false });
    expect(Object.values(rolledBack.recovery)).toContainEqual(
      expect.objectContaining({ kind: "compensation", status: "COMPLETED" }),
    );
    expect(rolledBack.context.shipped).toBeUndefined();
    expect([...(await waitsOf(lapsing)), ...(await waitsOf(compensated))]).toEqual([]);
  });
});
