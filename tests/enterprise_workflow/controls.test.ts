import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { stringify } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PostgresEnterpriseControls } from "../../checkpoints/enterprise_workflow/controls.js";
import { compileEnterpriseWorkflow } from "../../graphs/enterprise_workflow.js";
import { formatAuditTrail, type RunSummary } from "../../state/enterprise_workflow/report.js";
import type { EnterpriseState } from "../../state/enterprise_workflow/state.js";
import { callsPerNode, readCallLog, until } from "../support/calls.js";
import { finished, PROJECT_ROOT } from "../support/cli.js";
import { createTestSchema, type TestSchema } from "../support/database.js";
import { testEngineServices } from "../support/enterprise.js";
import { startReceiver, type Receiver } from "../support/receiver.js";

// Runs live in child processes; this process is the operator: it pauses, cancels and kills them.

const CHILD = path.join(PROJECT_ROOT, "tests/support/enterprise_controls_child.ts");

let db: TestSchema;
let controls: PostgresEnterpriseControls;
let closeControls: () => Promise<void>;
let workflow: ReturnType<typeof compileEnterpriseWorkflow>;
let dir: string;
let receiver: Receiver;

beforeAll(async () => {
  db = await createTestSchema();
  const opened = await testEngineServices(db);
  controls = opened.controls;
  closeControls = opened.close;
  workflow = compileEnterpriseWorkflow(db.checkpointer, opened.services);
  dir = await mkdtemp(path.join(os.tmpdir(), "orchestra-controls-"));
  receiver = await startReceiver(["--delay-ms", "3000"]);
});
afterAll(async () => {
  await receiver?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
  await closeControls?.();
  await db?.cleanup();
});

function child(args: string[], env: NodeJS.ProcessEnv = {}) {
  return spawn(process.execPath, ["--import", "tsx", CHILD, ...args], {
    cwd: PROJECT_ROOT,
    env: {
      ...process.env,
      DATABASE_URL: db.databaseUrl,
      ORCHESTRA_DB_SCHEMA: db.schema,
      ORCHESTRA_WEBHOOK_ALLOW_HOSTS: "127.0.0.1",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
}

async function completes(process: ReturnType<typeof child>) {
  const result = await finished(process);
  expect(result.code, result.stderr).toBe(0);
  return { ...result, summary: JSON.parse(result.stdout.trim().split("\n").at(-1)!) as RunSummary };
}

const values = async (threadId: string) =>
  (await workflow.getState({ configurable: { thread_id: threadId } })).values as EnterpriseState;

async function definitionFile(name: string, definition: unknown) {
  const file = path.join(dir, `${name}.yaml`);
  await writeFile(file, stringify(definition));
  return file;
}

const chain = (name: string) => ({
  name,
  steps: ["s1", "s2", "s3", "s4", "s5", "s6"].map((id, i) => ({
    stepId: id,
    stepType: "sequential",
    dependencies: i ? [`s${i}`] : [],
    action: { llm: `Do ${id}.` },
    rollbackActions: [`Undo ${id}.`],
  })),
});

describe("from another process while a workflow runs", () => {
  it("pause stops it at the next step boundary as PAUSED; resumed, it runs to completion without repeating a step", async () => {
    const file = await definitionFile("pause", chain("pause"));
    const log = path.join(dir, "pause.jsonl");
    const env = { ORCHESTRA_OFFLINE_LATENCY_MS: "300", ORCHESTRA_OFFLINE_CALL_LOG: log };
    const running = completes(child(["run", "paused", file], env));
    await until(async () => (await values("paused")).steps?.s2?.status === "COMPLETED", "s2 completed");
    await controls.request("paused", "pause", "ops-oncall");
    const paused = await running;
    expect(paused.summary.status).toBe("PAUSED");
    expect(paused.summary.next).toEqual(["pause_gate"]);
    expect(paused.summary.steps.s6!.status).toBe("PENDING");
    expect((await values("paused")).auditTrail).toContainEqual(
      expect.objectContaining({ event: "workflow_paused", actor: "ops-oncall" }),
    );

    const resumed = await completes(child(["resume-paused", "paused", "ops-oncall"], env));
    expect(resumed.summary.status).toBe("COMPLETED");
    expect(callsPerNode(await readCallLog(log))).toEqual({ s1: 1, s2: 1, s3: 1, s4: 1, s5: 1, s6: 1 });
    expect(resumed.stdout).toMatch(/ops-oncall\s+workflow_resumed/);
  });

  it("cancel ends it CANCELLED after compensating the completed steps, newest first", async () => {
    const file = await definitionFile("cancel", chain("cancel"));
    const env = { ORCHESTRA_OFFLINE_LATENCY_MS: "300" };
    const running = completes(child(["run", "cancelled", file], env));
    await until(async () => (await values("cancelled")).steps?.s2?.status === "COMPLETED", "s2 completed");
    await controls.request("cancelled", "cancel", "ops-oncall");
    const { summary } = await running;
    expect(summary.status).toBe("CANCELLED");
    const state = await values("cancelled");
    const done = state.completedSteps;
    expect(done.length).toBeGreaterThanOrEqual(2);
    const compensated = state.auditTrail
      .filter((entry) => entry.event === "compensation_completed")
      .map((entry) => entry.stepId);
    expect(compensated).toEqual([...done].reverse().map((id) => `${id}/rollback#1`));
    expect(state.auditTrail).toContainEqual(
      expect.objectContaining({ event: "rollback_started", actor: "ops-oncall", detail: "cancelled by ops-oncall" }),
    );
    expect(state.auditTrail.at(-1)).toMatchObject({ event: "workflow_cancelled" });
    expect(state.steps.s6!.status).toBe("PENDING");
  });
});

describe("cancel from another process reaches a parent's running children", () => {
  const slowChild = (name: string, prefix: string) => ({
    ...chain(name),
    steps: chain(name).steps.map((step) => renamed(step, prefix)),
  });
  const renamed = (step: ReturnType<typeof chain>["steps"][number], prefix: string) => ({
    ...step,
    stepId: step.stepId.replace("s", prefix),
    dependencies: step.dependencies.map((id) => id.replace("s", prefix)),
    action: { llm: `Do ${step.stepId.replace("s", prefix)}.` },
    rollbackActions: [`Undo ${step.stepId.replace("s", prefix)}.`],
  });

  it("stops the parent, its inline child and its detached child's thread, and each child compensates what it completed", async () => {
    await definitionFile("inline_child", slowChild("inline_child", "i"));
    await definitionFile("detached_child", slowChild("detached_child", "d"));
    const file = await definitionFile("cascade", {
      name: "cascade",
      steps: [
        { stepId: "inner", stepType: "subworkflow", subworkflow: { definition: "inline_child", mode: "inline" } },
        { stepId: "outer", stepType: "subworkflow", subworkflow: { definition: "detached_child", mode: "detached" } },
        { stepId: "after", stepType: "sequential", dependencies: ["inner", "outer"], action: { llm: "Sum up." } },
      ],
    });
    const log = path.join(dir, "cascade.jsonl");
    const env = { ORCHESTRA_OFFLINE_LATENCY_MS: "300", ORCHESTRA_OFFLINE_CALL_LOG: log, ORCHESTRA_WORKFLOWS_DIR: dir };
    const running = completes(child(["run", "cascade", file], env));
    await until(async () => {
      const calls = callsPerNode(await readCallLog(log));
      return Boolean(calls.i2 && calls.d2);
    }, "both children past their second step");
    await controls.request("cascade", "cancel", "ops-oncall");
    const { summary } = await running;

    expect(summary.status).toBe("CANCELLED");
    const parent = await values("cascade");
    expect(parent.steps.inner).toMatchObject({
      status: "FAILED",
      error: expect.stringContaining("child ended CANCELLED"),
    });
    expect(parent.steps.outer).toMatchObject({
      status: "FAILED",
      error: expect.stringContaining("child ended CANCELLED"),
    });
    expect(parent.steps.after!.status).not.toBe("COMPLETED");

    const detached = await values("cascade.child.outer");
    expect(detached.status).toBe("CANCELLED");
    const compensated = detached.auditTrail
      .filter((entry) => entry.event === "compensation_completed")
      .map((entry) => entry.stepId);
    expect(compensated).toEqual([...detached.completedSteps].reverse().map((id) => `${id}/rollback#1`));

    const calls = callsPerNode(await readCallLog(log));
    // Neither child ran to its end, nor was run again after the cancel, and both undid what they did.
    expect(calls.i6 ?? 0).toBe(0);
    expect(calls.d6 ?? 0).toBe(0);
    expect(
      Object.keys(calls)
        .filter((node) => /^[id]1$/.test(node))
        .map((node) => calls[node]),
    ).toEqual([1, 1]);
    expect(Object.keys(calls).some((node) => node.startsWith("i1/rollback"))).toBe(true);
    expect(Object.keys(calls).some((node) => node.startsWith("d1/rollback"))).toBe(true);
  });
});

describe("webhooks across a crash", () => {
  it("the warehouse acts once when the run is killed between the send and the checkpoint, then resumed", async () => {
    const threadId = "order-crash";
    const input = JSON.stringify({ warehouse_url: `${receiver.url}/ship` });
    const env = { WAREHOUSE_TOKEN: "token-for-the-crash-test" };
    const killed = child(["run", threadId, "ecommerce_order", input], env);
    const exited = finished(killed);
    await until(async () => (await receiver.received()).some((call) => call.path === "/ship"), "the warehouse called");
    killed.kill("SIGKILL");
    expect((await exited).signal).toBe("SIGKILL");
    expect((await values(threadId)).steps.notify_warehouse!.status).toBe("RUNNING");

    const resumed = await completes(child(["resume", threadId], env));
    expect(resumed.summary.status).toBe("COMPLETED");
    const calls = (await receiver.received()).filter((call) => call.path === "/ship");
    expect(calls.map((call) => [call.idempotencyKey, call.acted])).toEqual([
      [`${threadId}:notify_warehouse:1`, true],
      [`${threadId}:notify_warehouse:1`, false],
    ]);
    expect((await values(threadId)).intermediateResults.notify_warehouse).toMatchObject({
      status: 200,
      body: { accepted: true, actionId: 1 },
    });
  });
});

/** Where a string appears among every column of every table of the test's schema, bytea decoded. */
async function foundInSchema(text: string): Promise<string[]> {
  const client = new pg.Client({ connectionString: db.databaseUrl });
  await client.connect();
  try {
    const { rows: columns } = await client.query<{ table_name: string; column_name: string; data_type: string }>(
      "SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_schema = $1",
      [db.schema],
    );
    const found: string[] = [];
    for (const { table_name, column_name, data_type } of columns) {
      const column = `"${column_name}"`;
      const test =
        data_type === "bytea"
          ? `position(convert_to($1, 'UTF8') in ${column}) > 0`
          : `${column}::text LIKE '%' || $1 || '%'`;
      const { rows } = await client.query<{ n: string }>(
        `SELECT count(*) AS n FROM "${db.schema}"."${table_name}" WHERE ${test}`,
        [text],
      );
      if (Number(rows[0]!.n) > 0) found.push(`${table_name}.${column_name}`);
    }
    return found;
  } finally {
    await client.end();
  }
}

describe("a secret in a webhook header", () => {
  it("reaches the endpoint and appears in no checkpoint, log or audit row", async () => {
    const secret = `planted-${randomBytes(12).toString("hex")}`;
    const file = await definitionFile("secret", {
      name: "secret",
      steps: [
        { stepId: "prepare", stepType: "sequential", action: { set: { order_id: "'ORD-9'" } } },
        {
          stepId: "call_partner",
          stepType: "webhook",
          dependencies: ["prepare"],
          action: {
            webhook: {
              endpoint: `${receiver.url}/partner`,
              headers: { Authorization: "Bearer ${env:PARTNER_TOKEN}" },
              payload: { order_id: "order_id" },
            },
          },
          rollbackActions: [
            {
              webhook: {
                endpoint: `${receiver.url}/partner-undo`,
                headers: { Authorization: "Bearer ${env:PARTNER_TOKEN}" },
              },
            },
          ],
        },
        { stepId: "fail", stepType: "sequential", dependencies: ["call_partner"], action: { llm: "Fail." } },
      ],
    });
    const result = await finished(
      child(["run", "secret", file], {
        PARTNER_TOKEN: secret,
        ORCHESTRA_OFFLINE_FAULTS: JSON.stringify({ fail: { fail: 5 } }),
      }),
    );
    expect(result.code, result.stderr).toBe(0);
    const calls = (await receiver.received()).filter((call) => call.path.startsWith("/partner"));
    expect(calls.map((call) => [call.path, call.headers.authorization])).toEqual([
      ["/partner", `Bearer ${secret}`],
      ["/partner-undo", `Bearer ${secret}`],
    ]);
    const state = await values("secret");
    expect(state.auditTrail.filter((entry) => entry.event === "webhook_called")).toHaveLength(2);

    // The reference is stored (the scan finds what is there), the value nowhere.
    expect(await foundInSchema("${env:PARTNER_TOKEN}")).not.toEqual([]);
    expect(await foundInSchema(secret)).toEqual([]);
    expect(result.stdout + result.stderr).not.toContain(secret);
    expect(formatAuditTrail(state.auditTrail)).not.toContain(secret);
    expect(JSON.stringify(state)).not.toContain(secret);
    expect(receiver.output()).not.toContain(secret);
  });
});
