import {
  ENGINE_WORKFLOW,
  allSteps,
  effectiveRetryPolicy,
  type AdvancedWorkflow,
  type WorkflowStep,
} from "../../state/enterprise_workflow/definition.js";
import { evaluateExpression } from "../../state/enterprise_workflow/expressions.js";
import type {
  AuditEntry,
  EnterpriseState,
  EnterpriseUpdate,
  StepError,
  StepRecord,
} from "../../state/enterprise_workflow/state.js";
import type { EngineTask, SubworkflowTask, WorkerTask } from "./tasks.js";

/**
 * One orchestrator turn in the making: the saved state it reads, and what the turn has decided so
 * far (step changes, results, audit entries, work to Send). The phases of `planTurn` each add to
 * it; nothing here does I/O, so every phase is a plain function of the draft.
 */
export interface TurnDraft {
  readonly state: EnterpriseState;
  readonly workflow: AdvancedWorkflow;
  readonly now: number;
  readonly at: string;
  readonly byId: ReadonlyMap<string, WorkflowStep>;
  /** The saved records with this turn's changes applied. */
  records: Record<string, StepRecord>;
  /** This turn's changes alone: what the update writes. */
  changes: Record<string, Partial<StepRecord>>;
  results: Record<string, unknown>;
  /** Context values this turn sets (a map step's outputMapping). */
  context: Record<string, unknown>;
  audit: AuditEntry[];
  completed: string[];
  failed: string[];
  errors: StepError[];
  tasks: EngineTask[];
  /** Steps this turn set RUNNING: back to PENDING if the turn ends or rolls back before their work is sent. */
  startedNow: string[];
}

export function newDraft(state: EnterpriseState, workflow: AdvancedWorkflow, now: number): TurnDraft {
  return {
    state,
    workflow,
    now,
    at: new Date(now).toISOString(),
    byId: new Map(allSteps(workflow.steps).map((step) => [step.stepId, step])),
    records: { ...state.steps },
    changes: {},
    results: {},
    context: {},
    audit: [],
    completed: [],
    failed: [],
    errors: [],
    tasks: [],
    startedNow: [],
  };
}

export function setRecord(draft: TurnDraft, key: string, patch: Partial<StepRecord>): void {
  draft.records[key] = { ...draft.records[key], ...patch } as StepRecord;
  draft.changes[key] = { ...draft.changes[key], ...patch };
}

/** A step reaches its final status: duration, result, the failed list and the audit entry follow. */
export function settle(
  draft: TurnDraft,
  key: string,
  status: "COMPLETED" | "FAILED" | "SKIPPED",
  detail: Partial<StepRecord> = {},
  output?: unknown,
): void {
  const startedAt = draft.records[key]?.startedAt;
  setRecord(draft, key, {
    ...detail,
    status,
    finishedAt: draft.at,
    ...(startedAt ? { durationMs: draft.now - Date.parse(startedAt) } : {}),
  });
  if (output !== undefined) draft.results[key] = output;
  if (status === "COMPLETED") draft.completed.push(key);
  if (status === "FAILED") {
    draft.failed.push(key);
    draft.errors.push({ stepId: key, message: detail.error ?? "failed", at: draft.at });
  }
  const why = detail.reason ?? detail.error;
  draft.audit.push({
    at: draft.at,
    event: `step_${status.toLowerCase()}`,
    stepId: key,
    ...(why ? { detail: why } : {}),
  });
}

/** How many more tasks this turn may Send within the workflow's maxParallelSteps. */
export const budget = (draft: TurnDraft) => draft.workflow.maxParallelSteps - draft.tasks.length;

/** Queues work; a step's work counts a dispatch on its record (recovery work has a record of its own). */
export function dispatch(draft: TurnDraft, task: EngineTask): void {
  draft.tasks.push(task);
  if (task.kind === "action" && task.role === "recovery") return;
  setRecord(draft, task.key, { dispatches: (draft.records[task.key]?.dispatches ?? 0) + 1 });
  const detail =
    task.kind === "action" && task.iteration
      ? `iteration ${task.iteration}`
      : task.kind === "approval"
        ? "approval asked"
        : task.kind === "wait_event"
          ? `waiting for key ${task.request.correlationKey}`
          : undefined;
  draft.audit.push({ at: draft.at, event: "step_dispatched", stepId: task.key, ...(detail ? { detail } : {}) });
}

/** Runs a step's decision; an error in it (a bad expression, a missing placeholder) fails the step, not the turn. */
export function guarded(draft: TurnDraft, step: WorkflowStep, work: () => void): void {
  try {
    work();
  } catch (error) {
    settle(draft, step.stepId, "FAILED", { error: (error as Error).message });
  }
}

/** Steps started this turn whose work will not be sent after all go back to PENDING. */
export function unstartThisTurn(draft: TurnDraft): void {
  for (const key of draft.startedNow)
    if (draft.records[key]?.status === "RUNNING") setRecord(draft, key, { status: "PENDING" });
}

/** Completed step keys, oldest first: the saved ones, then this turn's. */
export const completedInOrder = (draft: TurnDraft) => [...draft.state.completedSteps, ...draft.completed];

const resultsOf = (draft: TurnDraft, step: WorkflowStep) =>
  Object.fromEntries(
    step.dependencies.map((id) => [id, draft.state.intermediateResults[id] ?? draft.results[id] ?? null]),
  );

/** The context, the owner's dependencies' results, and extras (a loop's iteration, a map's item). */
export const baseScope = (
  draft: TurnDraft,
  owner: WorkflowStep,
  extra: Record<string, unknown> = {},
): Record<string, unknown> => ({
  ...draft.state.context,
  results: resultsOf(draft, owner),
  ...extra,
});

/** What a step's expressions see: its base scope, then its inputMapping values. */
export function scopeFor(
  draft: TurnDraft,
  step: WorkflowStep,
  owner: WorkflowStep,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  const base = baseScope(draft, owner, extra);
  const mapped = Object.fromEntries(
    Object.entries(step.inputMapping).map(([name, text]) => [name, evaluateExpression(text, base)]),
  );
  return { ...base, ...mapped };
}

export function actionTask(
  draft: TurnDraft,
  step: WorkflowStep,
  key: string,
  role: WorkerTask["role"],
  scope: Record<string, unknown>,
  iteration?: number,
): WorkerTask {
  return {
    key,
    stepId: step.stepId,
    role,
    action: step.action!,
    scope,
    outputMapping: role === "split" ? {} : step.outputMapping,
    retry: effectiveRetryPolicy(draft.workflow, step),
    timeoutSeconds: step.timeoutSeconds,
    deadline: draft.state.deadline,
    ...(iteration === undefined ? {} : { iteration }),
    kind: "action",
    attemptGroup: (draft.records[key]?.dispatches ?? 0) + 1,
  };
}

/** The child's input is inputMapping's values alone; an engine child gets them as its context, with the definition to run. */
export function subworkflowTask(
  draft: TurnDraft,
  step: WorkflowStep,
  key: string,
  scope: Record<string, unknown>,
): SubworkflowTask {
  const child = step.subworkflow!;
  const mapped = Object.fromEntries(Object.keys(step.inputMapping).map((name) => [name, scope[name]]));
  const answer = draft.records[key]?.answer;
  return {
    kind: "subworkflow",
    key,
    stepId: step.stepId,
    workflow: child.workflow,
    mode: child.mode,
    input: child.workflow === ENGINE_WORKFLOW ? { definition: child.definition, input: mapped } : mapped,
    scope,
    outputMapping: step.outputMapping,
    retry: effectiveRetryPolicy(draft.workflow, step),
    timeoutSeconds: step.timeoutSeconds,
    deadline: draft.state.deadline,
    attemptGroup: (draft.records[key]?.dispatches ?? 0) + 1,
    ...(answer ? { answer } : {}),
  };
}

/** A human_approval step's question, Sent to the approval worker. */
export function askApproval(draft: TurnDraft, step: WorkflowStep): void {
  const record = draft.records[step.stepId];
  const refusals = record?.refusals ?? 0;
  dispatch(draft, {
    kind: "approval",
    key: step.stepId,
    stepId: step.stepId,
    askedAt: draft.at,
    deadline: draft.state.deadline,
    refusals,
    request: {
      kind: "approval",
      stepId: step.stepId,
      name: step.name,
      question: `Approve '${step.name}' of ${draft.workflow.name}?`,
      approvers: step.approvers,
      allowedUsers: draft.workflow.allowedUsers,
      subject: { context: draft.state.context, results: resultsOf(draft, step) },
      ...(refusals && record?.reason ? { lastRefusal: record.reason } : {}),
    },
  });
}

/** This turn's changes as a state update. */
export const collected = (draft: TurnDraft): EnterpriseUpdate => ({
  steps: draft.changes,
  intermediateResults: draft.results,
  ...(Object.keys(draft.context).length ? { context: draft.context } : {}),
  completedSteps: draft.completed,
  failedSteps: draft.failed,
  errors: draft.errors,
  auditTrail: draft.audit,
});
