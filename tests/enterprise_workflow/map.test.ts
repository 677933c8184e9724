import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compileEnterpriseWorkflow } from "../../graphs/enterprise_workflow.js";
import { failureTolerated, mapDecision } from "../../nodes/enterprise_workflow/fanout.js";
import { childrenOf } from "../../scripts/enterprise_workflow/engine.js";
import { MapSpecSchema } from "../../state/enterprise_workflow/fanout.js";
import { checkDefinition } from "../../state/enterprise_workflow/loader.js";
import type { EnterpriseState } from "../../state/enterprise_workflow/state.js";
import { createTestSchema, type TestSchema } from "../support/database.js";
import { testEngineServices } from "../support/enterprise.js";

// Map steps: one child per item of a CEL list, within maxConcurrent, failing past a tolerance
// (as Step Functions' Map). The children here are the vendor_check definition, which fails for 'Bad'.

const spec = (tolerance: Record<string, number> = {}) => MapSpecSchema.parse({ items: "vendors", ...tolerance });

describe("map decisions", () => {
  it("tolerates no failure by default, else up to the count and the percentage", () => {
    expect(failureTolerated(0, 3, spec())).toBe(true);
    expect(failureTolerated(1, 3, spec())).toBe(false);
    expect(failureTolerated(1, 3, spec({ toleratedFailureCount: 1 }))).toBe(true);
    expect(failureTolerated(2, 3, spec({ toleratedFailureCount: 1 }))).toBe(false);
    expect(failureTolerated(1, 3, spec({ toleratedFailurePercentage: 34 }))).toBe(true);
    expect(failureTolerated(1, 3, spec({ toleratedFailurePercentage: 33 }))).toBe(false);
    expect(failureTolerated(1, 3, spec({ toleratedFailureCount: 5, toleratedFailurePercentage: 10 }))).toBe(false);
  });

  it("fails as soon as the failures pass the tolerance, and completes once every child settled", () => {
    expect(mapDecision(["COMPLETED", "RUNNING", "PENDING"], spec())).toBe("continue");
    expect(mapDecision(["FAILED", "RUNNING", "PENDING"], spec())).toBe("failed");
    expect(mapDecision(["FAILED", "COMPLETED", "COMPLETED"], spec({ toleratedFailureCount: 1 }))).toBe("completed");
    expect(mapDecision([], spec())).toBe("completed");
  });

  it("a map step needs its list and its child, and map belongs to map steps", () => {
    const base = {
      stepId: "m",
      stepType: "map",
      subworkflow: { definition: "vendor_check" },
      map: { items: "vendors" },
    };
    expect(() => checkDefinition({ name: "x", steps: [{ ...base, map: undefined }] })).toThrow(
      "a map step needs map: {items",
    );
    expect(() => checkDefinition({ name: "x", steps: [{ ...base, subworkflow: undefined }] })).toThrow(
      "a map step needs subworkflow",
    );
    expect(() => checkDefinition({ name: "x", steps: [{ ...base, map: { items: "vendors[" } }] })).toThrow(
      "bad map.items",
    );
    expect(() =>
      checkDefinition({ name: "x", steps: [{ stepId: "s", stepType: "sequential", map: { items: "v" } }] }),
    ).toThrow("map belongs to map steps");
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

async function run(mapStep: Record<string, unknown>, vendors: unknown) {
  const threadId = `map-${++threads}`;
  const definition = {
    name: "vendors",
    steps: [
      {
        stepId: "checks",
        stepType: "map",
        map: { items: "vendors", itemName: "vendor" },
        subworkflow: { definition: "vendor_check" },
        inputMapping: { vendor: "vendor" },
        outputMapping: {
          checked: "output.results.filter(r, r.status == 'COMPLETED').map(r, r.output.result.check.checked)",
        },
        retryPolicy: { maxAttempts: 1 },
        ...mapStep,
      },
    ],
  };
  await engine.invoke({ definition, input: { vendors } }, configOf(threadId));
  return { threadId, values: (await engine.getState(configOf(threadId))).values as EnterpriseState };
}

/** The step keys dispatched by each orchestrator turn, in order: a turn's entries share its time. */
function dispatchTurns(values: EnterpriseState): string[][] {
  const turns = new Map<string, string[]>();
  for (const entry of values.auditTrail)
    if (entry.event === "step_dispatched") turns.set(entry.at, [...(turns.get(entry.at) ?? []), entry.stepId!]);
  return [...turns.values()];
}

describe("a map step", () => {
  it("runs one child per item, at most maxConcurrent at a time, and maps their outputs", async () => {
    const { values } = await run({ maxConcurrent: 2 }, ["A", "B", "C"]);
    expect(values.status).toBe("COMPLETED");
    expect(values.context.checked).toEqual(["checked A", "checked B", "checked C"]);
    expect(["checks#1", "checks#2", "checks#3"].map((key) => values.steps[key]?.status)).toEqual([
      "COMPLETED",
      "COMPLETED",
      "COMPLETED",
    ]);
    expect(dispatchTurns(values)).toEqual([["checks#1", "checks#2"], ["checks#3"]]);
  });

  it("goes on when a child fails within a tolerance of 1 of 3", async () => {
    const { values } = await run({ map: { items: "vendors", itemName: "vendor", toleratedFailureCount: 1 } }, [
      "A",
      "Bad",
      "C",
    ]);
    expect(values.status).toBe("COMPLETED");
    expect(values.steps["checks#2"]!.status).toBe("FAILED");
    expect(values.context.checked).toEqual(["checked A", "checked C"]);
    expect(values.intermediateResults.checks).toMatchObject({ total: 3, succeeded: 2, failed: 1 });
  });

  it("fails under no tolerance, naming the count", async () => {
    const { values } = await run({}, ["A", "Bad", "C"]);
    expect(values.status).toBe("FAILED");
    expect(values.steps.checks!.error).toBe(
      "2 of 3 children succeeded, 1 failed: over the tolerance (no failure tolerated)",
    );
  });

  it("runs detached children on threads of their own, each listed by show", async () => {
    const { values, threadId } = await run({ subworkflow: { definition: "vendor_check", mode: "detached" } }, [
      "A",
      "B",
    ]);
    expect(values.status).toBe("COMPLETED");
    expect(values.steps["checks#1"]!.thread).toBe(`${threadId}.child.checks-1`);
    expect(childrenOf(values).map((line) => [line.stepId, line.status, line.thread])).toEqual([
      ["checks", "COMPLETED", null],
      ["checks#1", "COMPLETED", `${threadId}.child.checks-1`],
      ["checks#2", "COMPLETED", `${threadId}.child.checks-2`],
    ]);
  });

  it("fails the step when its items are not a list", async () => {
    const { values } = await run({}, "A");
    expect(values.status).toBe("FAILED");
    expect(values.steps.checks!.error).toBe("map.items 'vendors' gave string, not a list");
  });
});
