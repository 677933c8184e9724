import { effectiveRetryPolicy, type WorkflowStep } from "../../state/enterprise_workflow/definition.js";
import { eventWaitTask } from "./event_wait.js";
import { evaluateCondition } from "../../state/enterprise_workflow/expressions.js";
import { childrenToStart, isSettled, loopDecision, parallelOutcome, readySteps } from "./decisions.js";
import { advanceMap, startMap } from "./fanout.js";
import { pendingCompensations, recoveryTask } from "./recovery.js";
import {
  actionTask,
  askApproval,
  budget,
  completedInOrder,
  dispatch,
  guarded,
  scopeFor,
  setRecord,
  settle,
  subworkflowTask,
  type TurnDraft,
} from "./turn.js";

/** The step phases of a turn: advancing what runs, then starting what is ready. Each adds to the draft. */

/** A rollback step: the compensations of every step completed so far, one at a time, then it completes. */
export function advanceRollbackStep(draft: TurnDraft, step: WorkflowStep): void {
  const next = pendingCompensations(draft.workflow, completedInOrder(draft), draft.state.recovery, [step.stepId], {
    ...draft.state.intermediateResults,
    ...draft.results,
  })[0];
  if (next) {
    if (budget(draft) > 0) dispatch(draft, recoveryTask(draft, next, "compensation"));
    return;
  }
  const ran = Object.entries(draft.state.recovery).filter(([, record]) => record.kind === "compensation");
  settle(
    draft,
    step.stepId,
    "COMPLETED",
    { reason: `${ran.length} compensations run` },
    {
      compensations: ran.map(([key, record]) => ({
        key,
        status: record.status,
        ...(record.error ? { error: record.error } : {}),
      })),
    },
  );
}

/** A parallel or orchestrator step whose children all settled: it completes when enough succeeded. */
function settleParent(draft: TurnDraft, step: WorkflowStep, children: readonly string[]): void {
  const { records } = draft;
  const outcome = parallelOutcome(
    children.map((key) => records[key]!.status),
    effectiveRetryPolicy(draft.workflow, step).parallelFailureThreshold,
  );
  const output = {
    ...outcome,
    ...(children.length === 0 ? { message: "no parallel steps" } : {}),
    results: children.map((key) => ({
      stepId: key,
      status: records[key]!.status,
      ...(records[key]!.status === "COMPLETED"
        ? { output: draft.state.intermediateResults[key] ?? null }
        : { error: records[key]!.error }),
    })),
  };
  const summary = `${outcome.succeeded} of ${outcome.total} children succeeded`;
  if (outcome.success) settle(draft, step.stepId, "COMPLETED", { reason: summary }, output);
  else settle(draft, step.stepId, "FAILED", { error: `${summary}, below the threshold` }, output);
}

/** Children of a parallel or orchestrator step: start what the limits allow, or settle the step once all are done. */
export function advanceChildren(draft: TurnDraft, step: WorkflowStep): void {
  const children = draft.records[step.stepId]!.children ?? [];
  if (children.every((key) => isSettled(draft.records[key]))) return settleParent(draft, step, children);
  const pending = children.filter((key) => draft.records[key]?.status === "PENDING");
  const template = step.stepType === "orchestrator" ? step.parallelSteps[0]! : undefined;
  const starting = childrenToStart(pending.length, step.maxConcurrent, draft.workflow.maxParallelSteps, budget(draft));
  for (const key of pending.slice(0, starting)) {
    const child = template ?? draft.byId.get(key)!;
    try {
      const extra = template ? { subtask: draft.records[key]!.subtask ?? "" } : {};
      const scope = scopeFor(draft, child, step, extra);
      setRecord(draft, key, { status: "RUNNING", startedAt: draft.at });
      dispatch(draft, actionTask(draft, child, key, "step", scope));
    } catch (error) {
      settle(draft, key, "FAILED", { error: (error as Error).message });
    }
  }
}

/** A loop: the next iteration while its condition holds and its cap allows, else it completes. */
export function advanceLoop(draft: TurnDraft, step: WorkflowStep): void {
  const iterations = draft.records[step.stepId]!.iterations ?? 0;
  const holds =
    step.loopCondition === undefined ||
    evaluateCondition(step.loopCondition, scopeFor(draft, step, step, { iteration: iterations }));
  const decision = loopDecision(iterations, step.loopMaxIterations, holds);
  if (decision === "next_iteration") {
    if (budget(draft) <= 0) return;
    dispatch(
      draft,
      actionTask(
        draft,
        step,
        step.stepId,
        "iteration",
        scopeFor(draft, step, step, { iteration: iterations + 1 }),
        iterations + 1,
      ),
    );
    return;
  }
  const stoppedByCap = decision === "iteration_cap";
  settle(
    draft,
    step.stepId,
    "COMPLETED",
    {
      stoppedByCap,
      iterations,
      reason: stoppedByCap ? `stopped at loopMaxIterations (${step.loopMaxIterations})` : "loop condition is false",
    },
    { iterations, stoppedByCap, lastOutput: draft.state.intermediateResults[step.stepId] ?? null },
  );
}

/** An orchestrator: its split first, then one child per subtask the split returned. */
export function advanceOrchestrator(draft: TurnDraft, step: WorkflowStep): void {
  const record = draft.records[step.stepId]!;
  if (record.children === undefined && record.subtasks !== undefined) {
    const template = step.parallelSteps[0]!;
    const children = record.subtasks.map((_, i) => `${template.stepId}#${i + 1}`);
    setRecord(draft, step.stepId, { children });
    record.subtasks.forEach((subtask, i) => setRecord(draft, children[i]!, { status: "PENDING", subtask }));
  }
  if (draft.records[step.stepId]!.children !== undefined) advanceChildren(draft, step);
  else if (budget(draft) > 0)
    dispatch(draft, actionTask(draft, step, step.stepId, "split", scopeFor(draft, step, step)));
}

/** Phase 1: the steps already running take their next move from the workers' outcomes. */
export function advanceRunning(draft: TurnDraft): void {
  for (const step of draft.workflow.steps) {
    if (draft.records[step.stepId]?.status !== "RUNNING") continue;
    guarded(draft, step, () => {
      if (step.stepType === "parallel") advanceChildren(draft, step);
      else if (step.stepType === "orchestrator") advanceOrchestrator(draft, step);
      else if (step.stepType === "loop") advanceLoop(draft, step);
      else if (step.stepType === "rollback") advanceRollbackStep(draft, step);
      else if (step.stepType === "map") advanceMap(draft, step);
    });
  }
}

const markStarted = (draft: TurnDraft, step: WorkflowStep, startedAt = draft.at) => {
  setRecord(draft, step.stepId, { status: "RUNNING", startedAt });
  draft.startedNow.push(step.stepId);
};

/** The step's conditions, or an approval's requiredFor, are false: the reason it is skipped. */
function skipReason(draft: TurnDraft, step: WorkflowStep): string | undefined {
  const holds = (conditions: string[]) =>
    !conditions.length || conditions.some((condition) => evaluateCondition(condition, scopeFor(draft, step, step)));
  if (!holds(step.conditions)) return `conditions false: ${step.conditions.join("; ")}`;
  if (step.stepType === "human_approval" && !holds(step.requiredFor))
    return `approval not required: requiredFor false: ${step.requiredFor.join("; ")}`;
  return undefined;
}

/** Starts one ready step by its type. */
function startByType(draft: TurnDraft, step: WorkflowStep): void {
  const skip = skipReason(draft, step);
  if (skip) return settle(draft, step.stepId, "SKIPPED", { reason: skip });
  switch (step.stepType) {
    case "human_approval":
      setRecord(draft, step.stepId, {
        status: "WAITING",
        startedAt: draft.records[step.stepId]?.startedAt ?? draft.at,
      });
      return askApproval(draft, step);
    case "rollback":
      markStarted(draft, step);
      return advanceRollbackStep(draft, step);
    case "parallel":
      markStarted(draft, step);
      setRecord(draft, step.stepId, { children: step.parallelSteps.map((child) => child.stepId) });
      for (const child of step.parallelSteps) setRecord(draft, child.stepId, { status: "PENDING" });
      return advanceChildren(draft, step);
    case "map":
      return startMap(draft, step);
    case "wait_event":
      setRecord(draft, step.stepId, { status: "WAITING", startedAt: draft.at });
      return dispatch(
        draft,
        eventWaitTask(step, draft.workflow.name, scopeFor(draft, step, step), draft.now, draft.state.deadline),
      );
    case "subworkflow":
      if (budget(draft) <= 0) return;
      markStarted(draft, step, draft.records[step.stepId]?.startedAt ?? draft.at);
      return dispatch(draft, subworkflowTask(draft, step, step.stepId, scopeFor(draft, step, step)));
  }
  if (!step.action) return settle(draft, step.stepId, "COMPLETED", { reason: "no action" }, null);
  if (step.stepType !== "loop" && budget(draft) <= 0) return;
  markStarted(draft, step);
  if (step.stepType === "loop") setRecord(draft, step.stepId, { iterations: 0 });
  if (step.stepType === "orchestrator") advanceOrchestrator(draft, step);
  else if (step.stepType === "loop") advanceLoop(draft, step);
  else dispatch(draft, actionTask(draft, step, step.stepId, "step", scopeFor(draft, step, step)));
}

/** Starts a ready step; true when it settled at once, which may make its dependents ready. */
export function startStep(draft: TurnDraft, step: WorkflowStep): boolean {
  guarded(draft, step, () => startByType(draft, step));
  return isSettled(draft.records[step.stepId]);
}

/** The first failed step that stops the run: it failed without continueOnFailure, and handed over to no other step. */
export const blockingFailure = (draft: TurnDraft) =>
  draft.workflow.steps.find((step) => {
    const record = draft.records[step.stepId];
    return (
      record?.status === "FAILED" && !record.fallback && !effectiveRetryPolicy(draft.workflow, step).continueOnFailure
    );
  });

/** Phase 2: start every ready step, again while starting some settled others at once, until a failure blocks the run. */
export function startReadySteps(draft: TurnDraft): void {
  let settledSome = true;
  while (settledSome && !blockingFailure(draft)) {
    settledSome = false;
    for (const step of readySteps(draft.workflow, draft.records)) if (startStep(draft, step)) settledSome = true;
  }
}
