import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { stringify } from "yaml";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { compileEnterpriseWorkflow } from "../../graphs/enterprise_workflow.js";
import { resetOfflineCallCounts } from "../../models/offline/model.js";
import { FAULTS_ENV, type FaultPlan } from "../../models/offline/runtime.js";
import { formatAuditTrail } from "../../state/enterprise_workflow/report.js";
import type { EnterpriseState } from "../../state/enterprise_workflow/state.js";
import { createTestSchema, type TestSchema } from "../support/database.js";
import { testEngineServices } from "../support/enterprise.js";

// Error handlers and compensations on Postgres with the offline model; failures come from its fault plan.

let db: TestSchema;
let workflow: ReturnType<typeof compileEnterpriseWorkflow>;
let closeControls: () => Promise<void>;
let threads = 0;

beforeAll(async () => {
  db = await createTestSchema();
  const { services, close } = await testEngineServices(db);
  closeControls = close;
  workflow = compileEnterpriseWorkflow(db.checkpointer, services);
});
afterAll(async () => {
  await closeControls?.();
  await db?.cleanup();
});
afterEach(() => {
  resetOfflineCallCounts();
  delete process.env[FAULTS_ENV];
});

async function run(definition: unknown, faults: FaultPlan = {}) {
  process.env[FAULTS_ENV] = JSON.stringify(faults);
  const config = { configurable: { thread_id: `saga-${++threads}`, model: "offline" } };
  await workflow.invoke({ definition, input: {} }, config);
  const statuses: string[] = [];
  for await (const snapshot of workflow.getStateHistory(config))
    statuses.unshift((snapshot.values as EnterpriseState).status);
  return { values: (await workflow.getState(config)).values as EnterpriseState, statuses };
}

/** s1 → s2 → s3 → s4, each compensated by a model call of its own (fault plan key `sN/rollback#1`). */
const chain = (extra: Record<string, Record<string, unknown>> = {}) => ({
  name: "saga",
  steps: ["s1", "s2", "s3", "s4"].map((id, i) => ({
    stepId: id,
    stepType: "sequential",
    dependencies: i ? [`s${i}`] : [],
    action: { llm: `Do ${id}.` },
    rollbackActions: [`Undo ${id}.`],
    ...extra[id],
  })),
});

const compensations = (state: EnterpriseState) =>
  state.auditTrail
    .filter((entry) => entry.event.startsWith("compensation_"))
    .map((entry) => `${entry.stepId} ${entry.event}`);

describe("a failure the workflow cannot continue from", () => {
  it("runs the error handlers, then compensations k-1 … 1 in that order, status ROLLBACK then FAILED", async () => {
    const { values, statuses } = await run(chain({ s4: { errorHandlers: [{ set: { alerted: "true" } }] } }), {
      s4: { fail: 5 },
    });
    expect(values.status).toBe("FAILED");
    expect(compensations(values)).toEqual([
      "s3/rollback#1 compensation_completed",
      "s2/rollback#1 compensation_completed",
      "s1/rollback#1 compensation_completed",
    ]);
    expect(values.recovery["s4/on_error#1"]).toMatchObject({ kind: "error_handler", status: "COMPLETED" });
    expect(values.context.alerted).toBe(true);
    const events = values.auditTrail.map((entry) => entry.event);
    expect(events.indexOf("error_handler_completed")).toBeLessThan(events.indexOf("rollback_started"));
    expect(statuses.filter((status, i) => status !== statuses[i - 1]).slice(-2)).toEqual(["ROLLBACK", "FAILED"]);
    expect(values.errors.filter((error) => error.stepId === "(workflow)").map((error) => error.message)).toEqual([
      "step 's4' failed: offline fault: s4 call 3 of 5 planned failures",
    ]);
    expect(formatAuditTrail(values.auditTrail)).toMatch(/engine\s+compensation_completed\s+s1\/rollback#1/);
  });

  it("records a failing compensation and runs the others", async () => {
    const { values } = await run(chain(), { s4: { fail: 5 }, "s2/rollback#1": { fail: 5 } });
    expect(values.status).toBe("FAILED");
    expect(compensations(values)).toEqual([
      "s3/rollback#1 compensation_completed",
      "s2/rollback#1 compensation_failed",
      "s1/rollback#1 compensation_completed",
    ]);
    expect(values.recovery["s2/rollback#1"]).toMatchObject({
      status: "FAILED",
      error: expect.stringMatching(/offline fault/),
    });
    expect(values.auditTrail.at(-1)).toMatchObject({
      event: "workflow_failed",
      detail: expect.stringMatching(/3 compensations run, 1 failed$/),
    });
  });

  it("a step skipped or not reached is not compensated", async () => {
    const { values } = await run(chain({ s2: { stepType: "conditional", conditions: ["false"] } }), {
      s3: { fail: 5 },
    });
    expect(compensations(values)).toEqual(["s1/rollback#1 compensation_completed"]);
  });
});

describe("a rollback step", () => {
  it("runs the compensations of the steps completed before it, newest first, and the workflow goes on", async () => {
    const { values } = await run({
      name: "explicit",
      steps: [
        {
          stepId: "reserve",
          stepType: "sequential",
          action: { set: { reserved: "true" } },
          rollbackActions: [{ set: { reserved: "false" } }],
        },
        {
          stepId: "charge",
          stepType: "sequential",
          dependencies: ["reserve"],
          action: { llm: "Charge." },
          rollbackActions: ["Refund."],
        },
        { stepId: "undo", stepType: "rollback", dependencies: ["charge"] },
        { stepId: "report", stepType: "sequential", dependencies: ["undo"], action: { set: { reported: "true" } } },
      ],
    });
    expect(values.status).toBe("COMPLETED");
    expect(compensations(values)).toEqual([
      "charge/rollback#1 compensation_completed",
      "reserve/rollback#1 compensation_completed",
    ]);
    expect(values.context).toMatchObject({ reserved: false, reported: true });
    expect(values.intermediateResults.undo).toMatchObject({
      compensations: [{ key: "charge/rollback#1" }, { key: "reserve/rollback#1" }],
    });
  });
});

describe("a rollback of a parent whose children completed", () => {
  const step = (stepId: string, dependencies: string[], extra: Record<string, unknown> = {}) => ({
    stepId,
    stepType: "sequential",
    dependencies,
    action: { llm: `Do ${stepId}.` },
    rollbackActions: [`Undo ${stepId}.`],
    ...extra,
  });
  const child = (stepId: string, definition: string, dependencies: string[] = []) => {
    const { action: _action, ...rest } = step(stepId, dependencies, {
      stepType: "subworkflow",
      subworkflow: { definition, mode: "inline" },
    });
    return rest;
  };

  it("runs the children's compensations before its own steps', deepest first", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "orchestra-saga-"));
    process.env.ORCHESTRA_WORKFLOWS_DIR = dir;
    try {
      await writeFile(path.join(dir, "leaf.yaml"), stringify({ name: "leaf", steps: [step("l1", [])] }));
      await writeFile(
        path.join(dir, "middle.yaml"),
        stringify({ name: "middle", steps: [step("m1", []), child("m2", "leaf", ["m1"])] }),
      );
      const parent = { name: "parent", steps: [child("mid", "middle"), step("p2", ["mid"]), step("boom", ["p2"])] };
      const { values } = await run(parent, { boom: { fail: 5 } });
      expect(values.status).toBe("FAILED");
      expect(compensations(values)).toEqual([
        "mid/m2/l1/rollback#1 compensation_completed",
        "mid/m2/rollback#1 compensation_completed",
        "mid/m1/rollback#1 compensation_completed",
        "p2/rollback#1 compensation_completed",
        "mid/rollback#1 compensation_completed",
      ]);
    } finally {
      delete process.env.ORCHESTRA_WORKFLOWS_DIR;
      await rm(dir, { recursive: true, force: true });
    }
  });
});
