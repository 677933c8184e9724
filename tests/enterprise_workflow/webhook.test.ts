import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pg from "pg";
import { PostgresEnterpriseControls } from "../../checkpoints/enterprise_workflow/controls.js";
import { compileEnterpriseWorkflow } from "../../graphs/enterprise_workflow.js";
import { CircuitOpenError, DEFAULT_BREAKER_OPTIONS, throughBreaker } from "../../checkpoints/breakers.js";
import { sendWebhook } from "../../nodes/enterprise_workflow/webhook.js";
import type { EnterpriseState } from "../../state/enterprise_workflow/state.js";
import { createTestSchema, type TestSchema } from "../support/database.js";
import { testEngineServices } from "../support/enterprise.js";
import { startReceiver, type Receiver } from "../support/receiver.js";

let db: TestSchema;
let failing: Receiver;
let closeControls: () => Promise<void>;
let workflow: ReturnType<typeof compileEnterpriseWorkflow>;

beforeAll(async () => {
  db = await createTestSchema();
  const opened = await testEngineServices(db);
  closeControls = opened.close;
  workflow = compileEnterpriseWorkflow(db.checkpointer, opened.services);
  failing = await startReceiver(["--fail-status", "503"]);
});
afterAll(async () => {
  await failing?.stop();
  await closeControls?.();
  await db?.cleanup();
});

/** A store on a pool of its own: what a restarted process would open. */
async function freshStore() {
  const pool = new pg.Pool({ connectionString: db.databaseUrl, max: 2 });
  return { store: new PostgresEnterpriseControls(pool, db.schema), close: () => pool.end() };
}

describe("the per-endpoint circuit breaker", () => {
  it("refuses the 6th call after 5 failures, also after a restart, and lets one trial call through after 30 s on the clock", async () => {
    let now = 1_000_000;
    const clock = () => now;
    const endpoint = `${failing.url}/flaky`;
    const call = (store: PostgresEnterpriseControls) =>
      throughBreaker(
        store,
        endpoint,
        () =>
          sendWebhook({
            url: new URL(endpoint),
            method: "POST",
            headers: {},
            body: {},
            idempotencyKey: `k${now}`,
            signal: new AbortController().signal,
            allowHosts: ["127.0.0.1"],
          }),
        { ...DEFAULT_BREAKER_OPTIONS, clock },
      );
    const arrived = async () => (await failing.received()).filter((received) => received.path === "/flaky").length;

    const first = await freshStore();
    for (let i = 1; i <= 5; i++) await expect(call(first.store)).rejects.toThrow("POST " + endpoint + " answered 503");
    await expect(call(first.store)).rejects.toThrow(CircuitOpenError);
    await first.close();
    expect(await arrived()).toBe(5);

    const restarted = await freshStore();
    await expect(call(restarted.store)).rejects.toThrow(
      /^circuit open for http:\/\/127\.0\.0\.1:\d+\/flaky: 5 consecutive failures/,
    );
    // cockatiel measures on the real clock, shifted to this one: a second's margin covers the real milliseconds in between.
    now += 29_000;
    await expect(call(restarted.store)).rejects.toThrow(CircuitOpenError);
    expect(await arrived()).toBe(5);

    now += 1_000;
    // Two processes at once after the delay: one trial goes through, the other is refused.
    const other = await freshStore();
    const outcomes = await Promise.allSettled([call(restarted.store), call(other.store)]);
    expect(await arrived()).toBe(6);
    expect(
      outcomes
        .map((outcome) =>
          outcome.status === "rejected" && outcome.reason instanceof CircuitOpenError ? "refused" : "tried",
        )
        .sort(),
    ).toEqual(["refused", "tried"]);
    // The trial failed: open again for another 30 s.
    await expect(call(other.store)).rejects.toThrow(CircuitOpenError);
    expect(await arrived()).toBe(6);
    await Promise.all([restarted.close(), other.close()]);
  });
});

describe("the SSRF guard", () => {
  const run = async (threadId: string, endpoint: string) => {
    const config = { configurable: { thread_id: threadId, model: "offline" } };
    await workflow.invoke(
      {
        definition: {
          name: "ssrf",
          steps: [{ stepId: "call", stepType: "webhook", action: { webhook: { endpoint } } }],
        },
        input: {},
      },
      config,
    );
    return (await workflow.getState(config)).values as EnterpriseState;
  };

  it("refuses a private, link-local or loopback address by default, with a clear error", async () => {
    delete process.env.ORCHESTRA_WEBHOOK_ALLOW_HOSTS;
    const metadata = await run("ssrf-metadata", "http://169.254.169.254/latest/meta-data");
    expect(metadata.status).toBe("FAILED");
    expect(metadata.steps.call!.error).toBe(
      "webhook to 169.254.169.254 refused: 169.254.169.254 is a private, loopback or link-local address; add 169.254.169.254 to ORCHESTRA_WEBHOOK_ALLOW_HOSTS to allow it",
    );
    const local = await run("ssrf-loopback", `${failing.url}/internal`);
    expect(local.steps.call!.error).toMatch(/^webhook to 127\.0\.0\.1 refused: 127\.0\.0\.1 is a private/);
    const named = await run("ssrf-name", `http://localhost:${new URL(failing.url).port}/internal`);
    expect(named.steps.call!.error).toMatch(/^webhook to localhost refused: (127\.0\.0\.1|::1) is a private/);
    expect((await failing.received()).filter((received) => received.path === "/internal")).toEqual([]);
  });

  it("lets a host on the allow-list through", async () => {
    process.env.ORCHESTRA_WEBHOOK_ALLOW_HOSTS = "127.0.0.1";
    try {
      const allowed = await run("ssrf-allowed", `${failing.url}/internal`);
      expect(allowed.steps.call!.error).toMatch(/answered 503$/);
      // Three attempts by default; the refusals before were not retried.
      expect((await failing.received()).filter((received) => received.path === "/internal")).toHaveLength(3);
    } finally {
      delete process.env.ORCHESTRA_WEBHOOK_ALLOW_HOSTS;
    }
  });
});
