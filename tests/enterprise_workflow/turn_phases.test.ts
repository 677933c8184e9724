import { describe, expect, it } from "vitest";
import { closeTurn, finishRun, rollBack } from "../../nodes/enterprise_workflow/orchestrator.js";
import {
  advanceChildren,
  advanceLoop,
  advanceOrchestrator,
  advanceRollbackStep,
  advanceRunning,
  blockingFailure,
  startReadySteps,
  startStep,
} from "../../nodes/enterprise_workflow/phases.js";
import { pendingCompensations, pendingErrorHandlers } from "../../nodes/enterprise_workflow/recovery.js";
import { budget, dispatch, newDraft, settle, unstartThisTurn } from "../../nodes/enterprise_workflow/turn.js";
import type { AdvancedWorkflow } from "../../state/enterprise_workflow/definition.js";
import { checkDefinition } from "../../state/enterprise_workflow/loader.js";
import type { EnterpriseState, StepRecord } from "../../state/enterprise_workflow/state.js";

const NOW = Date.parse("2030-01-01T00:00:00.000Z");

function stateOf(
  workflow: AdvancedWorkflow,
  steps: Record<string, Partial<StepRecord>>,
  extra: Partial<EnterpriseState> = {},
): EnterpriseState {
  return {
    workflow,
    status: "RUNNING",
    steps,
    context: {},
    intermediateResults: {},
    completedSteps: [],
    recovery: {},
    startTime: new Date(NOW - 1000).toISOString(),
    deadline: "2100-01-01T00:00:00.000Z",
    ...extra,
  } as EnterpriseState;
}

const draftOf = (
  workflow: AdvancedWorkflow,
  steps: Record<string, Partial<StepRecord>>,
  extra: Partial<EnterpriseState> = {},
) => newDraft(stateOf(workflow, steps, extra), workflow, NOW);

const chain = checkDefinition({
  name: "chain",
  maxParallelSteps: 2,
  steps: [
    { stepId: "a", stepType: "sequential", action: { llm: "a" }, rollbackActions: ["undo a"] },
    { stepId: "b", stepType: "sequential", dependencies: ["a"], rollbackActions: ["undo b"] },
    { stepId: "c", stepType: "sequential", dependencies: ["b"], action: { llm: "c" }, errorHandlers: ["tell"] },
  ],
});

describe("turn draft", () => {
  it("settle records the status, duration, result, failure and audit entry; dispatch counts a step's sends", () => {
    const draft = draftOf(chain, { a: { status: "RUNNING", startedAt: new Date(NOW - 250).toISOString() } });
    settle(draft, "a", "FAILED", { error: "boom" }, { partial: 1 });
    expect(draft.changes.a).toMatchObject({ status: "FAILED", durationMs: 250, error: "boom" });
    expect(draft.results.a).toEqual({ partial: 1 });
    expect(draft.failed).toEqual(["a"]);
    expect(draft.errors).toEqual([{ stepId: "a", message: "boom", at: draft.at }]);
    expect(draft.audit.at(-1)).toMatchObject({ event: "step_failed", stepId: "a", detail: "boom" });
    expect(budget(draft)).toBe(2);
    dispatch(draft, {
      kind: "approval",
      key: "c",
      stepId: "c",
      askedAt: draft.at,
      deadline: draft.at,
      refusals: 0,
      request: {} as never,
    });
    expect(draft.records.c!.dispatches).toBe(1);
    expect(budget(draft)).toBe(1);
  });

  it("unstartThisTurn puts steps started this turn back to PENDING", () => {
    const draft = draftOf(chain, {});
    startStep(draft, chain.steps[0]!);
    expect(draft.records.a!.status).toBe("RUNNING");
    unstartThisTurn(draft);
    expect(draft.changes.a!.status).toBe("PENDING");
  });
});

describe("step phases", () => {
  it("startReadySteps starts the ready step and goes on through steps that settle at once", () => {
    const draft = draftOf(chain, { a: { status: "COMPLETED" }, b: { status: "PENDING" }, c: { status: "PENDING" } });
    startReadySteps(draft);
    expect(draft.records.b!.status).toBe("COMPLETED");
    expect(draft.tasks.map((task) => task.key)).toEqual(["c"]);
  });

  it("startStep skips a step whose conditions are false, and fails one whose expression cannot run", () => {
    const conditional = checkDefinition({
      name: "cond",
      steps: [
        { stepId: "s", stepType: "sequential", conditions: ["flag"], action: { llm: "s" } },
        { stepId: "t", stepType: "sequential", conditions: ["missing.field > 1"], action: { llm: "t" } },
      ],
    });
    const draft = draftOf(conditional, {}, { context: { flag: false } });
    expect(startStep(draft, conditional.steps[0]!)).toBe(true);
    expect(draft.records.s).toMatchObject({ status: "SKIPPED", reason: "conditions false: flag" });
    expect(startStep(draft, conditional.steps[1]!)).toBe(true);
    expect(draft.records.t!.status).toBe("FAILED");
  });

  it("advanceChildren starts children within maxConcurrent, then settles the parent by its threshold", () => {
    const fan = checkDefinition({
      name: "fan",
      steps: [
        {
          stepId: "p",
          stepType: "parallel",
          maxConcurrent: 2,
          retryPolicy: { parallelFailureThreshold: 0.6 },
          parallelSteps: ["x", "y", "z"].map((id) => ({ stepId: id, stepType: "sequential", action: { llm: id } })),
        },
      ],
    });
    const pending = {
      p: { status: "RUNNING" as const, children: ["x", "y", "z"] },
      x: { status: "PENDING" as const },
      y: { status: "PENDING" as const },
      z: { status: "PENDING" as const },
    };
    const starting = draftOf(fan, pending);
    advanceChildren(starting, fan.steps[0]!);
    expect(starting.tasks.map((task) => task.key)).toEqual(["x", "y"]);
    const settled = draftOf(fan, {
      ...pending,
      x: { status: "COMPLETED" },
      y: { status: "COMPLETED" },
      z: { status: "FAILED", error: "no" },
    });
    advanceChildren(settled, fan.steps[0]!);
    expect(settled.records.p).toMatchObject({ status: "COMPLETED", reason: "2 of 3 children succeeded" });
    const below = draftOf(fan, {
      ...pending,
      x: { status: "COMPLETED" },
      y: { status: "FAILED" },
      z: { status: "FAILED" },
    });
    advanceChildren(below, fan.steps[0]!);
    expect(below.records.p!.status).toBe("FAILED");
  });

  it("advanceLoop sends the next iteration, then stops at the cap", () => {
    const loop = checkDefinition({
      name: "loop",
      steps: [{ stepId: "l", stepType: "loop", loopMaxIterations: 2, action: { llm: "l" } }],
    });
    const going = draftOf(loop, { l: { status: "RUNNING", iterations: 1 } });
    advanceLoop(going, loop.steps[0]!);
    expect(going.tasks).toMatchObject([{ key: "l", role: "iteration", iteration: 2 }]);
    const capped = draftOf(loop, { l: { status: "RUNNING", iterations: 2 } });
    advanceLoop(capped, loop.steps[0]!);
    expect(capped.records.l).toMatchObject({ status: "COMPLETED", stoppedByCap: true });
  });

  it("advanceOrchestrator sends the split, then one child per subtask", () => {
    const orchestrated = checkDefinition({
      name: "orch",
      steps: [
        {
          stepId: "o",
          stepType: "orchestrator",
          action: { llm: "split" },
          parallelSteps: [{ stepId: "w", stepType: "worker", action: { llm: "{{subtask}}" } }],
        },
      ],
    });
    const splitting = draftOf(orchestrated, { o: { status: "RUNNING" } });
    advanceOrchestrator(splitting, orchestrated.steps[0]!);
    expect(splitting.tasks).toMatchObject([{ key: "o", role: "split" }]);
    const split = draftOf(orchestrated, { o: { status: "RUNNING", subtasks: ["one", "two"] } });
    advanceOrchestrator(split, orchestrated.steps[0]!);
    expect(split.records.o!.children).toEqual(["w#1", "w#2"]);
    expect(split.tasks.map((task) => task.key)).toEqual(["w#1", "w#2"]);
  });

  it("advanceRollbackStep compensates completed steps newest first, then completes", () => {
    const withRollback = checkDefinition({
      name: "rb",
      steps: [...chain.steps.slice(0, 2), { stepId: "r", stepType: "rollback", dependencies: ["b"] }],
    });
    const first = draftOf(withRollback, { r: { status: "RUNNING" } }, { completedSteps: ["a", "b"] });
    advanceRollbackStep(first, withRollback.steps[2]!);
    expect(first.tasks.map((task) => task.key)).toEqual(["b/rollback#1"]);
    const recovery: EnterpriseState["recovery"] = {
      "b/rollback#1": { kind: "compensation", owner: "b", status: "COMPLETED", at: "" },
      "a/rollback#1": { kind: "compensation", owner: "a", status: "COMPLETED", at: "" },
    };
    const done = draftOf(withRollback, { r: { status: "RUNNING" } }, { completedSteps: ["a", "b"], recovery });
    advanceRollbackStep(done, withRollback.steps[2]!);
    expect(done.records.r).toMatchObject({ status: "COMPLETED", reason: "2 compensations run" });
  });

  it("advanceRunning moves only the steps that are RUNNING", () => {
    const loop = checkDefinition({
      name: "two",
      steps: [
        { stepId: "l", stepType: "loop", loopMaxIterations: 1, action: { llm: "l" } },
        { stepId: "m", stepType: "loop", loopMaxIterations: 1, action: { llm: "m" } },
      ],
    });
    const draft = draftOf(loop, { l: { status: "RUNNING", iterations: 1 }, m: { status: "PENDING" } });
    advanceRunning(draft);
    expect(draft.records.l!.status).toBe("COMPLETED");
    expect(draft.records.m!.status).toBe("PENDING");
  });
});

describe("turn endings", () => {
  it("closeTurn completes a run with every step settled", () => {
    const draft = draftOf(chain, {
      a: { status: "COMPLETED" },
      b: { status: "COMPLETED" },
      c: { status: "COMPLETED" },
    });
    const turn = closeTurn(draft);
    expect(turn.finished).toBe(true);
    expect(turn.update.status).toBe("COMPLETED");
  });

  it("closeTurn runs a failed step's error handlers before the rollback, then rolls back", () => {
    const records = {
      a: { status: "COMPLETED" as const },
      b: { status: "COMPLETED" as const },
      c: { status: "FAILED" as const, error: "x" },
    };
    const handling = closeTurn(draftOf(chain, records, { completedSteps: ["a", "b"] }));
    expect(handling.tasks.map((task) => task.key)).toEqual(["c/on_error#1"]);
    const recovered: EnterpriseState["recovery"] = {
      "c/on_error#1": { kind: "error_handler", owner: "c", status: "COMPLETED", at: "" },
    };
    const rolling = closeTurn(draftOf(chain, records, { completedSteps: ["a", "b"], recovery: recovered }));
    expect(rolling.update).toMatchObject({
      status: "ROLLBACK",
      currentSteps: ["b/rollback#1"],
      rollback: { target: "FAILED" },
    });
  });

  it("closeTurn fails a stuck run naming what each step waits on", () => {
    const turn = closeTurn(
      draftOf(chain, { a: { status: "COMPLETED" }, b: { status: "PENDING" }, c: { status: "PENDING" } }),
    );
    expect(turn.update.status).toBe("FAILED");
    expect(JSON.stringify(turn.update.auditTrail)).toContain("b; c (waits on b)");
  });

  it("rollBack ends with the plan's target once no compensation is left", () => {
    const turn = rollBack(draftOf(chain, {}), { target: "CANCELLED", reason: "cancelled by ops" });
    expect(turn).toMatchObject({ finished: true, update: { status: "CANCELLED" } });
  });

  it("finishRun unstarts steps started this turn and keeps the sinks' results", () => {
    const draft = draftOf(
      chain,
      { a: { status: "COMPLETED" }, b: { status: "COMPLETED" } },
      { intermediateResults: { c: "done" } },
    );
    startStep(draft, chain.steps[2]!);
    const turn = finishRun(draft, "TIMEOUT", "late");
    expect(turn.update.steps).toMatchObject({ c: { status: "PENDING" } });
    expect(turn.update.finalResult).toEqual({ c: "done" });
  });

  it("recovery lists: compensations newest first, handlers of failed steps, each once", () => {
    expect(pendingCompensations(chain, ["a", "b"], {}).map((item) => item.key)).toEqual([
      "b/rollback#1",
      "a/rollback#1",
    ]);
    const ran: EnterpriseState["recovery"] = {
      "b/rollback#1": { kind: "compensation", owner: "b", status: "COMPLETED", at: "" },
    };
    expect(pendingCompensations(chain, ["a", "b"], ran).map((item) => item.key)).toEqual(["a/rollback#1"]);
    expect(pendingErrorHandlers(chain, { c: { status: "FAILED" } as StepRecord }, {}).map((item) => item.key)).toEqual([
      "c/on_error#1",
    ]);
    expect(blockingFailure(draftOf(chain, { c: { status: "FAILED" } }))?.stepId).toBe("c");
  });
});
