import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compileEnterpriseWorkflow } from "../../graphs/enterprise_workflow.js";
import { approvalCommand } from "../../nodes/enterprise_workflow/approval.js";
import { applyOnFailure } from "../../nodes/enterprise_workflow/escalation.js";
import { newDraft } from "../../nodes/enterprise_workflow/turn.js";
import { checkDefinition } from "../../state/enterprise_workflow/loader.js";
import type { EnterpriseState } from "../../state/enterprise_workflow/state.js";
import { createTestSchema, type TestSchema } from "../support/database.js";
import { testEngineServices } from "../support/enterprise.js";

// onFailure on a map of vendor_check children (the child fails for 'Bad'): run the failed
// children again, or hand over to a human approval that stands in for the failed step.

const definition = (onFailure: Record<string, unknown>) => ({
  name: "escalating",
  // A review that no step hands over to runs only when asked for.
  globalVariables: { reviewAlways: false },
  steps: [
    {
      stepId: "checks",
      stepType: "map",
      map: { items: "vendors", itemName: "vendor" },
      subworkflow: { definition: "vendor_check" },
      inputMapping: { vendor: "vendor" },
      retryPolicy: { maxAttempts: 1 },
      onFailure,
    },
    {
      stepId: "review",
      stepType: "human_approval",
      approvers: ["procurement_lead"],
      ...(onFailure.then === "goto" ? {} : { conditions: ["reviewAlways"] }),
    },
    { stepId: "analysis", stepType: "sequential", dependencies: ["checks"], action: { set: { analysed: "true" } } },
  ],
});

describe("onFailure at load time", () => {
  const steps = (onFailure: unknown, extra: Record<string, unknown> = {}) => ({
    name: "x",
    steps: [
      { stepId: "a", stepType: "sequential", action: { set: { v: "1" } }, onFailure },
      { stepId: "b", stepType: "human_approval", ...extra },
    ],
  });
  it("goto names another top-level step that does not depend on the failing one", () => {
    expect(() => checkDefinition(steps({ then: "goto" }))).toThrow(
      "step 'a': onFailure: then: goto needs step: another top-level step; use one of b",
    );
    expect(() => checkDefinition(steps({ then: "goto", step: "b" }, { dependencies: ["a"] }))).toThrow(
      "'b' stands in for 'a', so it cannot depend on it",
    );
    expect(() => checkDefinition(steps({ then: "fail", step: "b" }))).toThrow("step belongs to then: goto");
    expect(checkDefinition(steps({ then: "goto", step: "b" })).steps[0]!.onFailure).toEqual({
      then: "goto",
      step: "b",
    });
  });

  it("a stand-in is skipped once the step it stands in for settles without failing", () => {
    const workflow = checkDefinition(definition({ then: "goto", step: "review" }));
    const draft = newDraft(
      {
        workflow,
        steps: { checks: { status: "COMPLETED" } },
        context: {},
        intermediateResults: {},
        completedSteps: [],
        recovery: {},
        deadline: "2100-01-01T00:00:00Z",
      } as unknown as EnterpriseState,
      workflow,
      Date.now(),
    );
    expect(applyOnFailure(draft)).toBe(true);
    expect(draft.records.review).toMatchObject({ status: "SKIPPED", reason: "'checks' did not fail" });
    expect(applyOnFailure(draft)).toBe(false);
  });
});

let db: TestSchema;
let engine: ReturnType<typeof compileEnterpriseWorkflow>;
let closeControls: () => Promise<void>;
let threads = 0;

beforeAll(async () => {
  process.env.ORCHESTRA_WORKFLOWS_DIR = new URL("./fixtures/children/", import.meta.url).pathname;
  db = await createTestSchema();
  const { services, close } = await testEngineServices(db);
  closeControls = close;
  engine = compileEnterpriseWorkflow(db.checkpointer, services);
});
afterAll(async () => {
  delete process.env.ORCHESTRA_WORKFLOWS_DIR;
  await closeControls?.();
  await db?.cleanup();
});

const configOf = (threadId: string) => ({ configurable: { thread_id: threadId, model: "offline" } });
const valuesOf = async (threadId: string) => (await engine.getState(configOf(threadId))).values as EnterpriseState;

async function run(onFailure: Record<string, unknown>, vendors: string[]) {
  const threadId = `escalation-${++threads}`;
  await engine.invoke({ definition: definition(onFailure), input: { vendors } }, configOf(threadId));
  return { threadId, values: await valuesOf(threadId) };
}

describe("a step's onFailure", () => {
  it("escalates a failed map to a human approval that stands in for it; approved, the dependents run", async () => {
    const { threadId, values } = await run({ then: "goto", step: "review" }, ["A", "Bad", "C"]);
    expect(values.status).toBe("WAITING_APPROVAL");
    expect(values.steps.checks).toMatchObject({ status: "FAILED", fallback: "review" });
    expect(values.steps.review).toMatchObject({ status: "WAITING", standsInFor: "checks" });
    expect(values.steps.analysis?.status ?? "PENDING").toBe("PENDING");

    await engine.invoke(
      approvalCommand({ decision: "approve", reviewer: "lee", role: "procurement_lead" }),
      configOf(threadId),
    );
    const after = await valuesOf(threadId);
    expect(after.status).toBe("COMPLETED");
    expect(after.context.analysed).toBe(true);
  });

  it("a rejected escalation fails the parent", async () => {
    const { threadId } = await run({ then: "goto", step: "review" }, ["Bad"]);
    await engine.invoke(
      approvalCommand({ decision: "reject", reviewer: "lee", role: "procurement_lead", comment: "no vendor" }),
      configOf(threadId),
    );
    expect((await valuesOf(threadId)).status).toBe("FAILED");
  });

  it("runs only the failed children again, then fails the parent", async () => {
    const { values } = await run({ retry: 1 }, ["A", "Bad"]);
    expect(values.status).toBe("FAILED");
    expect(values.steps.checks).toMatchObject({ status: "FAILED", failureRetries: 1 });
    expect(values.steps["checks#1"]!.dispatches).toBe(1);
    expect(values.steps["checks#2"]!.dispatches).toBe(2);
    expect(values.steps.review!.status).toBe("SKIPPED");
  });

  it("with nothing failing, skips the stand-in", async () => {
    const { values } = await run({ then: "goto", step: "review" }, ["A"]);
    expect(values.status).toBe("COMPLETED");
    expect(values.steps.review).toMatchObject({ status: "SKIPPED" });
  });
});
