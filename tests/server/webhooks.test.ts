import { createHmac } from "node:crypto";
import { lookup } from "node:dns/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import pg from "pg";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { until } from "../support/calls.js";
import { createTestSchema, type TestSchema } from "../support/database.js";
import { type ServerProcess, startServer, TASK } from "./support.js";
import { afterFailure, retryDelayMs, webhookDeliverySettings } from "../../server/queue/webhooks.js";

// Run-completion webhooks: `webhook` on run create is POSTed, signed, when the run ends; through
// the SSRF guard; retried; delivered once more by another instance when the first dies mid-request.

const SECRET = "test-webhook-secret-0123456789";

interface Delivery {
  path: string;
  headers: http.IncomingHttpHeaders;
  raw: string;
  body: Record<string, unknown>;
}

/** A receiver in this process: `/ok` answers 200, `/flaky` 500 the first time, `/hold` holds its first request unanswered. */
async function startHookReceiver() {
  const deliveries: Delivery[] = [];
  const seen = new Map<string, number>();
  const server = http.createServer((request, response) => {
    let raw = "";
    request.setEncoding("utf8");
    request.on("data", (chunk: string) => (raw += chunk));
    request.on("end", () => {
      const path = request.url ?? "/";
      deliveries.push({ path, headers: request.headers, raw, body: JSON.parse(raw) as Record<string, unknown> });
      const count = (seen.get(path) ?? 0) + 1;
      seen.set(path, count);
      if (path.startsWith("/hold") && count === 1) return;
      response.writeHead(path.startsWith("/flaky") && count === 1 ? 500 : 200).end("{}");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    at: (path: string) => deliveries.filter((delivery) => delivery.path === path),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

let db: TestSchema;
let sql: pg.Client;
let receiver: Awaited<ReturnType<typeof startHookReceiver>>;
/** The instance the tests share; the SIGKILL test starts its own. */
let shared: ServerProcess;
const servers: ServerProcess[] = [];

const HOOK_ENV = {
  ORCHESTRA_WEBHOOK_ALLOW_HOSTS: "localhost",
  ORCHESTRA_WEBHOOK_SECRET: SECRET,
  ORCHESTRA_WEBHOOK_BACKOFF_MS: "200",
  ORCHESTRA_WEBHOOK_LEASE_MS: "3000",
};

beforeAll(async () => {
  db = await createTestSchema();
  sql = new pg.Client({ connectionString: db.databaseUrl });
  await sql.connect();
  receiver = await startHookReceiver();
  shared = await startServer(db.schema, HOOK_ENV);
}, 90_000);
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.stop("SIGKILL")));
});
afterAll(async () => {
  await shared?.stop("SIGKILL");
  await receiver?.close();
  await sql?.end();
  await db?.cleanup();
});

async function serve(): Promise<ServerProcess> {
  const server = await startServer(db.schema, HOOK_ENV);
  servers.push(server);
  return server;
}

async function outbox(runId: string) {
  const { rows } = await sql.query<{ status: string; attempts: number; idempotency_key: string }>(
    `SELECT status, attempts, idempotency_key FROM "${db.schema}".run_webhooks WHERE run_id = $1`,
    [runId],
  );
  return rows[0];
}

/** A run of the research workflow on a new thread, with `webhook`; its ids once it ended. */
async function runWithWebhook(server: ServerProcess, webhook: string) {
  const client = server.client();
  const thread = await client.threads.create();
  const run = await client.runs.create(thread.thread_id, "parallel_workflow", {
    input: TASK,
    context: { review: "never" },
    webhook,
  });
  await client.runs.join(thread.thread_id, run.run_id);
  const webhookStatus = async () =>
    ((await client.runs.get(thread.thread_id, run.run_id)) as unknown as { webhook_status: string | null })
      .webhook_status;
  return { threadId: thread.thread_id, runId: run.run_id, webhookStatus };
}

function expectSigned(delivery: Delivery): void {
  const timestamp = delivery.headers["x-orchestra-timestamp"] as string;
  expect(timestamp).toMatch(/^\d+$/);
  const expected = `sha256=${createHmac("sha256", SECRET).update(`${timestamp}.${delivery.raw}`).digest("hex")}`;
  expect(delivery.headers["x-orchestra-signature"]).toBe(expected);
}

describe("run-completion webhooks", () => {
  it("POSTs the run and its final values when the run ends, signed, with the run's idempotency key", async () => {
    const { runId, threadId, webhookStatus } = await runWithWebhook(shared, `http://localhost:${receiver.port}/ok`);
    await until(() => receiver.at("/ok").length > 0, "the webhook");
    const [delivery] = receiver.at("/ok");
    expectSigned(delivery!);
    expect(delivery!.headers["idempotency-key"]).toBe(runId);
    expect(delivery!.body).toMatchObject({
      run_id: runId,
      thread_id: threadId,
      status: "success",
      values: { status: "completed" },
    });
    await until(async () => (await webhookStatus()) !== null, "the delivery recorded on the run");
    expect(await webhookStatus()).toBe(`webhook delivered to http://localhost:${receiver.port}/ok on attempt 1 (200)`);
  });

  it("retries a 500 with the same key, and records the delivery that succeeded", async () => {
    const { runId, webhookStatus } = await runWithWebhook(shared, `http://localhost:${receiver.port}/flaky`);
    await until(async () => (await outbox(runId))?.status === "delivered", "the retried delivery");
    const deliveries = receiver.at("/flaky");
    expect(deliveries).toHaveLength(2);
    for (const delivery of deliveries) {
      expectSigned(delivery);
      expect(delivery.headers["idempotency-key"]).toBe(runId);
    }
    expect(await webhookStatus()).toMatch(/on attempt 2 \(200\)$/);
  });

  it("refuses a private target and a name that resolves to one, with one line in the run's record", async () => {
    // A name outside the allow-list whose DNS answer (here /etc/hosts) is private: the rebinding case.
    const name = os.hostname();
    const { address } = await lookup(name);
    expect(address, `${name} must resolve to a private or loopback address for this test`).toMatch(
      /^(127\.|10\.|192\.168\.|172\.(1[6-9]|2\d|3[01])\.)/,
    );
    const direct = await runWithWebhook(shared, `http://127.0.0.1:${receiver.port}/private`);
    const rebound = await runWithWebhook(shared, `http://${name}:${receiver.port}/rebound`);
    await until(
      async () =>
        (await outbox(direct.runId))?.status === "refused" && (await outbox(rebound.runId))?.status === "refused",
      "both refusals",
    );
    expect(await direct.webhookStatus()).toBe(
      "webhook to 127.0.0.1 refused: 127.0.0.1 is a private, loopback or link-local address; add 127.0.0.1 to ORCHESTRA_WEBHOOK_ALLOW_HOSTS to allow it",
    );
    expect(await rebound.webhookStatus()).toBe(
      `webhook to ${name} refused: ${address} is a private, loopback or link-local address; add ${name} to ORCHESTRA_WEBHOOK_ALLOW_HOSTS to allow it`,
    );
    expect((await outbox(direct.runId))!.attempts).toBe(1);
    expect([...receiver.at("/private"), ...receiver.at("/rebound")]).toEqual([]);
  });

  it("refuses a webhook that is not an http(s) URL, creating no run", async () => {
    const client = shared.client();
    const thread = await client.threads.create();
    await expect(
      client.runs.create(thread.thread_id, "parallel_workflow", { input: TASK, webhook: "file:///etc/passwd" }),
    ).rejects.toThrow(/webhook must be an http or https URL/);
    expect(await client.runs.list(thread.thread_id)).toEqual([]);
  });
});

describe("an instance dying mid-delivery", () => {
  it("is delivered by another instance, once and with the same key, when the first dies mid-request", async () => {
    // Alone on the schema, so that the held request is this instance's.
    await shared.stop("SIGKILL");
    const a = await serve();
    const { runId } = await runWithWebhook(a, `http://localhost:${receiver.port}/hold`);
    await until(() => receiver.at("/hold").length === 1, "the held request");
    await a.stop("SIGKILL");
    const b = await serve();
    await until(
      async () => (await outbox(runId))?.status === "delivered",
      "the delivery by the second instance",
      60_000,
    );
    const deliveries = receiver.at("/hold");
    expect(deliveries).toHaveLength(2);
    expect(deliveries.map((delivery) => delivery.headers["idempotency-key"])).toEqual([runId, runId]);
    expect(await outbox(runId)).toMatchObject({ attempts: 2, idempotency_key: runId });
    expect(b.output()).not.toContain(SECRET);
  });
});

describe("the retry decision", () => {
  const settings = webhookDeliverySettings();

  it("draws each delay below the doubling ceiling, capped", () => {
    expect(retryDelayMs(1, 1000, 300_000, () => 0.999)).toBe(999);
    expect(retryDelayMs(4, 1000, 300_000, () => 0.5)).toBe(4000);
    expect(retryDelayMs(30, 1000, 300_000, () => 0.5)).toBe(150_000);
    expect(retryDelayMs(3, 1000, 300_000, () => 0)).toBe(0);
  });

  it("gives up at the limit and at once on a refusal", () => {
    expect(afterFailure(1, false, settings, () => 0.5)).toEqual({ retry: true, delayMs: 500 });
    expect(afterFailure(settings.ORCHESTRA_WEBHOOK_MAX_ATTEMPTS, false, settings)).toEqual({ retry: false });
    expect(afterFailure(1, true, settings)).toEqual({ retry: false });
  });
});
