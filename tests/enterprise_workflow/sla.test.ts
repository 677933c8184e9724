import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { compileEnterpriseWorkflow } from "../../graphs/enterprise_workflow.js";
import { LATENCY_ENV } from "../../models/offline/runtime.js";
import { SIGNATURE_HEADER, alertSignature, slaChecks } from "../../nodes/enterprise_workflow/sla.js";
import { checkDefinition } from "../../state/enterprise_workflow/loader.js";
import type { EnterpriseState } from "../../state/enterprise_workflow/state.js";
import { createTestSchema, type TestSchema } from "../support/database.js";
import { testEngineServices } from "../support/enterprise.js";
import { runCli } from "../support/cli.js";
import { startReceiver, type Receiver } from "../support/receiver.js";

// Runs on Postgres with the offline model, slowed by its latency knob; alerts go to the dev
// receiver, a process of its own, through the webhooks' SSRF guard.

const SECRET = "alert-signing-secret-0123";
let db: TestSchema;
let receiver: Receiver;
let closeControls: () => Promise<void>;
let workflow: ReturnType<typeof compileEnterpriseWorkflow>;
let threads = 0;

beforeAll(async () => {
  db = await createTestSchema();
  receiver = await startReceiver();
  const env = {
    ...process.env,
    ORCHESTRA_ALERT_WEBHOOK: `${receiver.url}/alerts`,
    ORCHESTRA_ALERT_SECRET: SECRET,
    ORCHESTRA_WEBHOOK_ALLOW_HOSTS: "127.0.0.1",
  };
  const opened = await testEngineServices(db, { env });
  closeControls = opened.close;
  workflow = compileEnterpriseWorkflow(db.checkpointer, opened.services);
});
afterAll(async () => {
  await receiver?.stop();
  await closeControls?.();
  await db?.cleanup();
});
afterEach(() => {
  delete process.env[LATENCY_ENV];
});

const definition = {
  name: "sla-demo",
  slaTargets: { steps: { quote: { maxDurationSeconds: 1 } } },
  steps: [{ stepId: "quote", stepType: "worker", action: { llm: "Quote the order." } }],
};

async function run(latencyMs?: number) {
  if (latencyMs) process.env[LATENCY_ENV] = String(latencyMs);
  else delete process.env[LATENCY_ENV];
  const config = { configurable: { thread_id: `sla-${++threads}`, model: "offline" } };
  await workflow.invoke({ definition, input: {} }, config);
  return (await workflow.getState(config)).values as EnterpriseState;
}
const breaches = (state: EnterpriseState) => state.auditTrail.filter((entry) => entry.event === "sla_breached");
const alerts = async () => (await receiver.received()).filter((call) => call.path === "/alerts");

describe("SLA targets", () => {
  it("a step over its maximum is recorded each run, alerts once with a valid signature, and resolves when back in bounds", async () => {
    const slow = await run(1500);
    expect(breaches(slow)).toEqual([
      expect.objectContaining({ stepId: "quote", detail: expect.stringMatching(/^took 1\.\d+ s, maximum 1 s$/) }),
    ]);
    expect(await alerts()).toHaveLength(1);

    const stillSlow = await run(1500);
    expect(breaches(stillSlow)).toHaveLength(1);
    expect(await alerts()).toHaveLength(1);

    const fast = await run();
    expect(breaches(fast)).toEqual([]);
    const received = await alerts();
    expect(received.map((call) => (call.body as { status: string }).status)).toEqual(["firing", "resolved"]);
    expect(received[0]!.body).toMatchObject({
      key: "sla-demo/quote/maxDuration",
      workflow: "sla-demo",
      stepId: "quote",
      threadId: "sla-1",
    });
    for (const call of received)
      expect(call.headers[SIGNATURE_HEADER.toLowerCase()]).toBe(alertSignature(JSON.stringify(call.body), SECRET));
  });

  it("checks the run's own maximum and skips a step that did not finish", () => {
    const workflowWithTargets = checkDefinition({
      ...definition,
      slaTargets: { maxDurationSeconds: 2, steps: { quote: { maxDurationSeconds: 1 } } },
    });
    const start = "2026-01-01T00:00:00.000Z";
    expect(slaChecks(workflowWithTargets, { quote: { status: "RUNNING" } }, start, Date.parse(start) + 2500)).toEqual([
      { key: "sla-demo/(workflow)/maxDuration", breached: true, detail: "took 2.5 s, maximum 2 s" },
    ]);
    expect(
      slaChecks(
        workflowWithTargets,
        { quote: { status: "COMPLETED", durationMs: 400 } },
        start,
        Date.parse(start) + 900,
      ).map((check) => check.breached),
    ).toEqual([false, false]);
  });
});

describe("orchestra alerts", () => {
  const env = (extra: NodeJS.ProcessEnv = {}) => ({
    DATABASE_URL: db.databaseUrl,
    ORCHESTRA_DB_SCHEMA: db.schema,
    ...extra,
  });

  it("list shows each alert's state; test sends a signed alert to the webhook and says where it went", async () => {
    const listed = await runCli(["alerts", "list", "--json"], env());
    expect(listed.code, listed.stderr).toBe(0);
    expect(JSON.parse(listed.stdout)).toEqual([
      { key: "sla-demo/quote/maxDuration", firing: false, changedAt: expect.any(String) },
    ]);
    expect((await runCli(["alerts", "list"], env())).stdout).toMatch(
      /^sla-demo\/quote\/maxDuration +resolved +\d{4}-/m,
    );

    const tested = await runCli(
      ["alerts", "test"],
      env({
        ORCHESTRA_ALERT_WEBHOOK: `${receiver.url}/test-alerts`,
        ORCHESTRA_ALERT_SECRET: SECRET,
        ORCHESTRA_WEBHOOK_ALLOW_HOSTS: "127.0.0.1",
      }),
    );
    expect(tested.code, tested.stderr).toBe(0);
    expect(tested.stdout).toBe(`log: sent\nwebhook ${receiver.url}/test-alerts: sent\n`);
    const [call] = (await receiver.received()).filter((received) => received.path === "/test-alerts");
    expect(call!.headers[SIGNATURE_HEADER.toLowerCase()]).toBe(alertSignature(JSON.stringify(call!.body), SECRET));
  });

  it("test refuses a bad setting with one line and exit 2, and fails with 1 when the webhook is refused", async () => {
    const bad = await runCli(["alerts", "test"], env({ ORCHESTRA_ALERT_WEBHOOK: "not a url" }));
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split("\n")).toEqual(["orchestra: ORCHESTRA_ALERT_WEBHOOK: Invalid URL; fix or unset it"]);
    const refused = await runCli(
      ["alerts", "test", "--json"],
      env({ ORCHESTRA_ALERT_WEBHOOK: `${receiver.url}/test-alerts` }),
    );
    expect(refused.code).toBe(1);
    expect(JSON.parse(refused.stdout).deliveries[1]).toMatchObject({
      ok: false,
      error: expect.stringMatching(/refused: 127\.0\.0\.1 is a private/),
    });
  });
});
