import { randomUUID } from "node:crypto";
import type { RunnableConfig } from "@langchain/core/runnables";
import { Command, END, Send } from "@langchain/langgraph";
import type { ControlRequest } from "../../checkpoints/enterprise_workflow/controls.js";
import { ENGINE_WORKFLOW, MAX_SUBWORKFLOW_DEPTH, allSteps, effectiveRetryPolicy, type AdvancedWorkflow, type WorkflowStep } from "../../state/enterprise_workflow/definition.js";
import { checkHierarchy, type ChildCatalog } from "../../state/enterprise_workflow/hierarchy.js";
import { evaluateCondition, evaluateExpression } from "../../state/enterprise_workflow/expressions.js";
import { checkDefinition } from "../../state/enterprise_workflow/loader.js";
import { WORKFLOW_ERROR, type AuditEntry, type EnterpriseState, type EnterpriseUpdate, type RollbackPlan, type StepRecord, type WorkflowStatus } from "../../state/enterprise_workflow/state.js";
import {
  childrenToStart,
  deadlineReached,
  isSettled,
  loopDecision,
  parallelOutcome,
  readySteps,
  unsettledSteps,
} from "./decisions.js";
import { eventWaitTask } from "./event_wait.js";
import type { EngineServices } from "./services.js";
import { raiseSlaAlerts, slaChecks, type SlaCheck } from "./sla.js";
import { WORKER_NODES, workerNodeFor, type EngineTask, type SubworkflowTask, type WorkerTask } from "./tasks.js";

export const ORCHESTRATOR_ENDS = [...WORKER_NODES, "orchestrator", "pause_gate", END];

/** A pending error handler or compensation: the action, the step key it belongs to, and its recovery key. */
export interface RecoveryItem {
  key: string;
  owner: string;
  step: WorkflowStep;
  action: WorkflowStep["rollbackActions"][number];
}

/** The definition step a record key runs: `research#2` is an orchestrated subtask of `research`. */
const definitionStepOf = (byId: Map<string, WorkflowStep>, key: string) => byId.get(key.split("#")[0]!);

/**
 * Compensations not yet run, in the order they run: steps in reverse completion order, each
 * step's rollbackActions as listed. Each runs at most once, whichever rollback reaches it first.
 */
export function pendingCompensations(
  workflow: AdvancedWorkflow,
  completedInOrder: readonly string[],
  recovery: EnterpriseState["recovery"],
  exclude: readonly string[] = [],
): RecoveryItem[] {
  const byId = new Map(allSteps(workflow.steps).map((step) => [step.stepId, step]));
  return [...completedInOrder]
    .reverse()
    .filter((owner) => !exclude.includes(owner))
    .flatMap((owner) => {
      const step = definitionStepOf(byId, owner);
      return (step?.rollbackActions ?? []).map((action, i) => ({ key: `${owner}/rollback#${i + 1}`, owner, step: step!, action }));
    })
    .filter((item) => recovery[item.key] === undefined);
}

/** Error handlers of failed steps that have not run yet. */
export function pendingErrorHandlers(workflow: AdvancedWorkflow, records: Record<string, StepRecord>, recovery: EnterpriseState["recovery"]): RecoveryItem[] {
  const byId = new Map(allSteps(workflow.steps).map((step) => [step.stepId, step]));
  return Object.entries(records)
    .filter(([, record]) => record.status === "FAILED")
    .flatMap(([owner]) => {
      const step = definitionStepOf(byId, owner);
      return (step?.errorHandlers ?? []).map((action, i) => ({ key: `${owner}/on_error#${i + 1}`, owner, step: step!, action }));
    })
    .filter((item) => recovery[item.key] === undefined);
}

/** The first turn: the definition checked, the context and the absolute deadline set. */
export function initialize(rawDefinition: unknown, input: Record<string, unknown>, now: number, trigger?: EnterpriseState["trigger"]): EnterpriseUpdate {
  const at = new Date(now).toISOString();
  let workflow: AdvancedWorkflow;
  try {
    workflow = checkDefinition(rawDefinition);
  } catch (error) {
    return failedRun(at, `invalid definition: ${(error as Error).message}`);
  }
  return {
    workflow,
    workflowId: randomUUID(),
    workflowName: workflow.name,
    version: workflow.version,
    status: "RUNNING",
    startTime: at,
    deadline: new Date(now + workflow.timeoutSeconds * 1000).toISOString(),
    context: { ...workflow.globalVariables, ...input },
    steps: Object.fromEntries(workflow.steps.map((step) => [step.stepId, { status: "PENDING" as const }])),
    auditTrail: [
      ...(trigger ? [{ at, event: "event_received", detail: `trigger ${trigger.name}, event ${trigger.eventId}` }] : []),
      { at, event: "workflow_started", detail: `${workflow.name} ${workflow.version}` },
    ],
  };
}

function failedRun(at: string, message: string): EnterpriseUpdate {
  return {
    status: "FAILED",
    endTime: at,
    errors: [{ stepId: WORKFLOW_ERROR, message, at }],
    auditTrail: [{ at, event: "workflow_failed", detail: message }],
  };
}

export interface Turn {
  update: EnterpriseUpdate;
  tasks: EngineTask[];
  /** The run is over: `update` holds its final status. */
  finished: boolean;
  /** When it is over: its SLA targets checked, breaches already in the audit trail. */
  slaChecks?: SlaCheck[];
}

/**
 * One turn of the orchestrator, from the saved state alone: fold the workers' outcomes into their
 * steps, decide which steps settle without work (skipped, empty, stopped loops), and pick the work
 * to Send next within the workflow's and each parallel step's concurrency limits.
 */
export function planTurn(state: EnterpriseState, workflow: AdvancedWorkflow, now: number, cancel?: Pick<ControlRequest, "actor">): Turn {
  const at = new Date(now).toISOString();
  const records: Record<string, StepRecord> = { ...state.steps };
  const changes: Record<string, Partial<StepRecord>> = {};
  const results: Record<string, unknown> = {};
  const audit: AuditEntry[] = [];
  const completed: string[] = [];
  const failed: string[] = [];
  const errors: EnterpriseUpdate["errors"] = [];
  const tasks: EngineTask[] = [];
  const startedNow: string[] = [];

  const set = (key: string, patch: Partial<StepRecord>) => {
    records[key] = { ...records[key], ...patch } as StepRecord;
    changes[key] = { ...changes[key], ...patch };
  };
  const settle = (key: string, status: "COMPLETED" | "FAILED" | "SKIPPED", detail: Partial<StepRecord> = {}, output?: unknown) => {
    const startedAt = records[key]?.startedAt;
    set(key, { ...detail, status, finishedAt: at, ...(startedAt ? { durationMs: now - Date.parse(startedAt) } : {}) });
    if (output !== undefined) results[key] = output;
    if (status === "COMPLETED") completed.push(key);
    if (status === "FAILED") {
      failed.push(key);
      errors.push({ stepId: key, message: detail.error ?? "failed", at });
    }
    audit.push({ at, event: `step_${status.toLowerCase()}`, stepId: key, ...(detail.reason || detail.error ? { detail: detail.reason ?? detail.error } : {}) });
  };
  const budget = () => workflow.maxParallelSteps - tasks.length;
  const dispatch = (task: EngineTask) => {
    tasks.push(task);
    if (task.kind === "action" && task.role === "recovery") return;
    set(task.key, { dispatches: (records[task.key]?.dispatches ?? 0) + 1 });
    const detail = task.kind === "action" && task.iteration ? `iteration ${task.iteration}` : task.kind === "approval" ? "approval asked" : task.kind === "wait_event" ? `waiting for key ${task.request.correlationKey}` : undefined;
    audit.push({ at, event: "step_dispatched", stepId: task.key, ...(detail ? { detail } : {}) });
  };
  const byId = new Map(allSteps(workflow.steps).map((step) => [step.stepId, step]));
  const resultsOf = (step: WorkflowStep) =>
    Object.fromEntries(step.dependencies.map((id) => [id, state.intermediateResults[id] ?? results[id] ?? null]));
  const scopeFor = (step: WorkflowStep, owner: WorkflowStep, extra: Record<string, unknown> = {}) => {
    const base = { ...state.context, results: resultsOf(owner), ...extra };
    const mapped = Object.fromEntries(Object.entries(step.inputMapping).map(([name, text]) => [name, evaluateExpression(text, base)]));
    return { ...base, ...mapped };
  };
  const taskFor = (step: WorkflowStep, key: string, role: WorkerTask["role"], scope: Record<string, unknown>, iteration?: number): WorkerTask => ({
    key,
    stepId: step.stepId,
    role,
    action: step.action!,
    scope,
    outputMapping: role === "split" ? {} : step.outputMapping,
    retry: effectiveRetryPolicy(workflow, step),
    timeoutSeconds: step.timeoutSeconds,
    deadline: state.deadline,
    ...(iteration === undefined ? {} : { iteration }),
    kind: "action",
    attemptGroup: (records[key]?.dispatches ?? 0) + 1,
  });
  /** The child's input is inputMapping's values alone; an engine child gets them as its context, with the definition to run. */
  const subworkflowTask = (step: WorkflowStep, key: string, scope: Record<string, unknown>): SubworkflowTask => {
    const child = step.subworkflow!;
    const mapped = Object.fromEntries(Object.keys(step.inputMapping).map((name) => [name, scope[name]]));
    const answer = records[key]?.answer;
    return {
      kind: "subworkflow",
      key,
      stepId: step.stepId,
      workflow: child.workflow,
      mode: child.mode,
      input: child.workflow === ENGINE_WORKFLOW ? { definition: child.definition, input: mapped } : mapped,
      scope,
      outputMapping: step.outputMapping,
      retry: effectiveRetryPolicy(workflow, step),
      timeoutSeconds: step.timeoutSeconds,
      deadline: state.deadline,
      attemptGroup: (records[key]?.dispatches ?? 0) + 1,
      ...(answer ? { answer } : {}),
    };
  };
  // Recovery runs even after the deadline passed: it is what puts the world back.
  const recoveryTask = (item: RecoveryItem, kind: "error_handler" | "compensation"): WorkerTask => ({
    kind: "action",
    key: item.key,
    stepId: item.key,
    role: "recovery",
    action: item.action,
    scope: { ...state.context, results: { ...state.intermediateResults, ...results }, failed_step: item.owner },
    outputMapping: {},
    retry: effectiveRetryPolicy(workflow, item.step),
    timeoutSeconds: item.step.timeoutSeconds,
    deadline: new Date(now + item.step.timeoutSeconds * 1000).toISOString(),
    attemptGroup: 1,
    recovery: { kind, owner: item.owner },
  });
  const askApproval = (step: WorkflowStep) => {
    const record = records[step.stepId];
    const refusals = record?.refusals ?? 0;
    dispatch({
      kind: "approval",
      key: step.stepId,
      stepId: step.stepId,
      askedAt: at,
      deadline: state.deadline,
      refusals,
      request: {
        kind: "approval",
        stepId: step.stepId,
        name: step.name,
        question: `Approve '${step.name}' of ${workflow.name}?`,
        approvers: step.approvers,
        allowedUsers: workflow.allowedUsers,
        subject: { context: state.context, results: resultsOf(step) },
        ...(refusals && record?.reason ? { lastRefusal: record.reason } : {}),
      },
    });
  };
  const completedInOrder = () => [...state.completedSteps, ...completed];
  /** A rollback step: the compensations of every step completed so far, one at a time, then it completes. */
  const advanceRollbackStep = (step: WorkflowStep) => {
    const next = pendingCompensations(workflow, completedInOrder(), state.recovery, [step.stepId])[0];
    if (next) {
      if (budget() > 0) dispatch(recoveryTask(next, "compensation"));
      return;
    }
    const ran = Object.entries(state.recovery).filter(([, record]) => record.kind === "compensation");
    settle(step.stepId, "COMPLETED", { reason: `${ran.length} compensations run` }, {
      compensations: ran.map(([key, record]) => ({ key, status: record.status, ...(record.error ? { error: record.error } : {}) })),
    });
  };
  const guarded = (step: WorkflowStep, work: () => void) => {
    try {
      work();
    } catch (error) {
      settle(step.stepId, "FAILED", { error: (error as Error).message });
    }
  };

  /** Children of a parallel or orchestrator step: start what the limits allow, or settle the step once all are done. */
  const advanceChildren = (step: WorkflowStep) => {
    const children = records[step.stepId]!.children ?? [];
    const pending = children.filter((key) => records[key]?.status === "PENDING");
    if (children.every((key) => isSettled(records[key]))) {
      const outcome = parallelOutcome(
        children.map((key) => records[key]!.status),
        effectiveRetryPolicy(workflow, step).parallelFailureThreshold,
      );
      const output = {
        ...outcome,
        ...(children.length === 0 ? { message: "no parallel steps" } : {}),
        results: children.map((key) => ({
          stepId: key,
          status: records[key]!.status,
          ...(records[key]!.status === "COMPLETED" ? { output: state.intermediateResults[key] ?? null } : { error: records[key]!.error }),
        })),
      };
      const summary = `${outcome.succeeded} of ${outcome.total} children succeeded`;
      if (outcome.success) settle(step.stepId, "COMPLETED", { reason: summary }, output);
      else settle(step.stepId, "FAILED", { error: `${summary}, below the threshold` }, output);
      return;
    }
    const template = step.stepType === "orchestrator" ? step.parallelSteps[0]! : undefined;
    for (const key of pending.slice(0, childrenToStart(pending.length, step.maxConcurrent, workflow.maxParallelSteps, budget()))) {
      const child = template ?? byId.get(key)!;
      try {
        const extra = template ? { subtask: records[key]!.subtask ?? "" } : {};
        const scope = scopeFor(child, step, extra);
        set(key, { status: "RUNNING", startedAt: at });
        dispatch(taskFor(child, key, "step", scope));
      } catch (error) {
        settle(key, "FAILED", { error: (error as Error).message });
      }
    }
  };

  const advanceLoop = (step: WorkflowStep) => {
    const iterations = records[step.stepId]!.iterations ?? 0;
    const holds = step.loopCondition === undefined || evaluateCondition(step.loopCondition, scopeFor(step, step, { iteration: iterations }));
    const decision = loopDecision(iterations, step.loopMaxIterations, holds);
    if (decision === "next_iteration") {
      if (budget() <= 0) return;
      dispatch(taskFor(step, step.stepId, "iteration", scopeFor(step, step, { iteration: iterations + 1 }), iterations + 1));
      return;
    }
    const stoppedByCap = decision === "iteration_cap";
    settle(
      step.stepId,
      "COMPLETED",
      { stoppedByCap, iterations, reason: stoppedByCap ? `stopped at loopMaxIterations (${step.loopMaxIterations})` : "loop condition is false" },
      { iterations, stoppedByCap, lastOutput: state.intermediateResults[step.stepId] ?? null },
    );
  };

  const advanceOrchestrator = (step: WorkflowStep) => {
    const record = records[step.stepId]!;
    if (record.children === undefined && record.subtasks !== undefined) {
      const template = step.parallelSteps[0]!;
      const children = record.subtasks.map((_, i) => `${template.stepId}#${i + 1}`);
      set(step.stepId, { children });
      record.subtasks.forEach((subtask, i) => set(children[i]!, { status: "PENDING", subtask }));
    }
    if (records[step.stepId]!.children !== undefined) advanceChildren(step);
    else if (budget() > 0) dispatch(taskFor(step, step.stepId, "split", scopeFor(step, step)));
  };

  const advance = (step: WorkflowStep) =>
    guarded(step, () => {
      if (step.stepType === "parallel") advanceChildren(step);
      else if (step.stepType === "orchestrator") advanceOrchestrator(step);
      else if (step.stepType === "loop") advanceLoop(step);
      else if (step.stepType === "rollback") advanceRollbackStep(step);
    });

  /** Starts a ready step; returns true when it settled at once, which may make its dependents ready. */
  const start = (step: WorkflowStep): boolean => {
    guarded(step, () => {
      if (step.conditions.length && !step.conditions.some((condition) => evaluateCondition(condition, scopeFor(step, step)))) {
        settle(step.stepId, "SKIPPED", { reason: `conditions false: ${step.conditions.join("; ")}` });
        return;
      }
      if (step.stepType === "human_approval") {
        if (step.requiredFor.length && !step.requiredFor.some((condition) => evaluateCondition(condition, scopeFor(step, step)))) {
          settle(step.stepId, "SKIPPED", { reason: `approval not required: requiredFor false: ${step.requiredFor.join("; ")}` });
          return;
        }
        set(step.stepId, { status: "WAITING", startedAt: records[step.stepId]?.startedAt ?? at });
        askApproval(step);
        return;
      }
      if (step.stepType === "wait_event") {
        set(step.stepId, { status: "WAITING", startedAt: at });
        dispatch(eventWaitTask(step, workflow.name, scopeFor(step, step), now, state.deadline));
        return;
      }
      if (step.stepType === "rollback") {
        set(step.stepId, { status: "RUNNING", startedAt: at });
        startedNow.push(step.stepId);
        advanceRollbackStep(step);
        return;
      }
      if (step.stepType === "parallel") {
        set(step.stepId, { status: "RUNNING", startedAt: at, children: step.parallelSteps.map((child) => child.stepId) });
        for (const child of step.parallelSteps) set(child.stepId, { status: "PENDING" });
        startedNow.push(step.stepId);
        advanceChildren(step);
        return;
      }
      if (step.stepType === "subworkflow") {
        if (budget() <= 0) return;
        set(step.stepId, { status: "RUNNING", startedAt: records[step.stepId]?.startedAt ?? at });
        startedNow.push(step.stepId);
        dispatch(subworkflowTask(step, step.stepId, scopeFor(step, step)));
        return;
      }
      if (!step.action) {
        settle(step.stepId, "COMPLETED", { reason: "no action" }, null);
        return;
      }
      if (step.stepType !== "loop" && budget() <= 0) return;
      set(step.stepId, { status: "RUNNING", startedAt: at, ...(step.stepType === "loop" ? { iterations: 0 } : {}) });
      startedNow.push(step.stepId);
      if (step.stepType === "orchestrator") advanceOrchestrator(step);
      else if (step.stepType === "loop") advanceLoop(step);
      else dispatch(taskFor(step, step.stepId, "step", scopeFor(step, step)));
    });
    return isSettled(records[step.stepId]);
  };

  const finish = (status: WorkflowStatus, detail: string): Turn => {
    // Steps this turn would have started stay unstarted: the run ends before their work is sent.
    for (const key of startedNow) if (records[key]?.status === "RUNNING") set(key, { status: "PENDING" });
    const sinks = workflow.steps.filter((step) => !workflow.steps.some((other) => other.dependencies.includes(step.stepId)));
    const finalResult = Object.fromEntries(sinks.map((step) => [step.stepId, state.intermediateResults[step.stepId] ?? results[step.stepId] ?? null]));
    const checks = slaChecks(workflow, records, state.startTime, now);
    const breaches = checks.filter((check) => check.breached).map((check): AuditEntry => ({ at, event: "sla_breached", stepId: check.stepId ?? WORKFLOW_ERROR, detail: check.detail }));
    return {
      finished: true,
      tasks: [],
      slaChecks: checks,
      update: {
        ...collected(),
        status,
        currentSteps: [],
        endTime: at,
        finalResult,
        // A rollback recorded the failure when it started.
        ...((status === "FAILED" || status === "TIMEOUT") && !state.rollback ? { errors: [...errors, { stepId: WORKFLOW_ERROR, message: detail, at }] } : {}),
        auditTrail: [...audit, ...breaches, { at, event: `workflow_${status.toLowerCase()}`, detail }],
      },
    };
  };
  const collected = (): EnterpriseUpdate => ({
    steps: changes,
    intermediateResults: results,
    completedSteps: completed,
    failedSteps: failed,
    errors,
    auditTrail: audit,
  });
  const blockingFailure = () =>
    workflow.steps.find((step) => records[step.stepId]?.status === "FAILED" && !effectiveRetryPolicy(workflow, step).continueOnFailure);

  /** The run cannot go on: compensate what completed, newest first, then end with the plan's status. */
  const rollBack = (plan: RollbackPlan, actor?: string): Turn => {
    const next = pendingCompensations(workflow, completedInOrder(), state.recovery)[0];
    const starting = state.rollback === undefined;
    if (!next) {
      const ran = Object.values(state.recovery).filter((record) => record.kind === "compensation");
      const failedCompensations = ran.filter((record) => record.status === "FAILED").length;
      const summary = ran.length ? `; ${ran.length} compensations run${failedCompensations ? `, ${failedCompensations} failed` : ""}` : "";
      return finish(plan.target, `${plan.reason}${summary}`);
    }
    tasks.length = 0;
    for (const key of startedNow) if (records[key]?.status === "RUNNING") set(key, { status: "PENDING" });
    dispatch(recoveryTask(next, "compensation"));
    return {
      finished: false,
      tasks,
      update: {
        ...collected(),
        status: "ROLLBACK",
        currentSteps: [next.key],
        ...(starting
          ? {
              rollback: plan,
              ...(plan.target === "FAILED" ? { errors: [...errors, { stepId: WORKFLOW_ERROR, message: plan.reason, at }] } : {}),
              auditTrail: [...audit, { at, event: "rollback_started", ...(actor ? { actor } : {}), detail: plan.reason }],
            }
          : {}),
      },
    };
  };

  if (state.rollback) return rollBack(state.rollback);
  if (cancel) return rollBack({ target: "CANCELLED", reason: `cancelled by ${cancel.actor}` }, cancel.actor);
  if (deadlineReached(state.deadline, now)) {
    const running = unsettledSteps(workflow, records).filter((id) => records[id]?.status === "RUNNING");
    return finish("TIMEOUT", `deadline ${state.deadline} passed${running.length ? ` with ${running.join(", ")} unfinished` : ""}`);
  }
  for (const step of workflow.steps) if (records[step.stepId]?.status === "RUNNING") advance(step);
  let settledSome = true;
  while (settledSome && !blockingFailure()) {
    settledSome = false;
    for (const step of readySteps(workflow, records)) if (start(step)) settledSome = true;
  }

  const handlers = pendingErrorHandlers(workflow, records, state.recovery);
  const blocking = blockingFailure();
  if (blocking) {
    if (!handlers.length) return rollBack({ target: "FAILED", reason: `step '${blocking.stepId}' failed: ${records[blocking.stepId]!.error ?? "failed"}` });
    // The failed step's handlers run before the rollback; work this turn would have started waits.
    tasks.length = 0;
    for (const key of startedNow) if (records[key]?.status === "RUNNING") set(key, { status: "PENDING" });
  }
  for (const item of handlers) dispatch(recoveryTask(item, "error_handler"));
  if (tasks.length === 0) {
    const stuck = unsettledSteps(workflow, records);
    if (stuck.length === 0) return finish("COMPLETED", `${workflow.steps.length} steps settled`);
    const waits = stuck.map((id) => {
      const blockers = byId.get(id)!.dependencies.filter((dep) => !isSettled(records[dep]) || records[dep]?.status === "FAILED");
      return blockers.length ? `${id} (waits on ${blockers.join(", ")})` : id;
    });
    return finish("FAILED", `stuck: no step can run, and these remain: ${waits.join("; ")}`);
  }
  return {
    finished: false,
    tasks,
    update: {
      ...collected(),
      status: tasks.some((task) => task.kind === "approval") ? "WAITING_APPROVAL" : "RUNNING",
      currentSteps: [...new Set(tasks.map((task) => task.key))],
    },
  };
}

/** The first turn: the definition loaded when named, checked with its children (within what is left of the depth limit), and the run set up. */
async function firstTurn(state: EnterpriseState, catalog: ChildCatalog, depth: number, now: number): Promise<EnterpriseUpdate> {
  const at = new Date(now).toISOString();
  try {
    const definition = typeof state.definition === "string" ? await catalog.loadNamed(state.definition) : state.definition;
    const update = initialize(definition, state.input, now, state.trigger);
    if (update.workflow) await checkHierarchy(update.workflow, catalog, MAX_SUBWORKFLOW_DEPTH - depth + 1);
    return update;
  } catch (error) {
    return failedRun(at, (error as Error).message);
  }
}

/**
 * The orchestrator node: initialises the run, then each turn acts on pause and cancel requests and
 * Sends the next work to the typed workers. `depth` is the engine's level: 1 for a thread's own
 * run, one more for each subworkflow step it runs inside.
 */
export function createOrchestrator(services: EngineServices, catalog: ChildCatalog, depth = 1) {
  return async (state: EnterpriseState, config: RunnableConfig): Promise<Command> => {
    const now = Date.now();
    const at = new Date(now).toISOString();
    if (state.status === "INITIALIZING") {
      const update = await firstTurn(state, catalog, depth, now);
      return new Command({ update, goto: update.status === "RUNNING" ? "orchestrator" : END });
    }
    const threadId = config.configurable?.thread_id;
    const request = typeof threadId === "string" ? await (await services.controls()).nextRequest(threadId, state.lastControlRequest) : undefined;
    const seen = request ? { lastControlRequest: request.id } : {};
    if (request?.kind === "pause") {
      if (!state.rollback) {
        return new Command({
          update: { ...seen, status: "PAUSED", currentSteps: [], auditTrail: [{ at, event: "workflow_paused", actor: request.actor }] },
          goto: "pause_gate",
        });
      }
    }
    const cancel = request?.kind === "cancel" && !state.rollback ? request : undefined;
    const ignored: AuditEntry[] = request && !cancel ? [{ at, event: `${request.kind}_ignored`, actor: request.actor, detail: "the run is rolling back" }] : [];
    const turn = planTurn(state, state.workflow!, now, cancel);
    const update = { ...turn.update, ...seen, auditTrail: [...ignored, ...(Array.isArray(turn.update.auditTrail) ? turn.update.auditTrail : [])] };
    if (turn.finished) {
      await raiseSlaAlerts(services, state.workflow!, turn.slaChecks ?? [], typeof threadId === "string" ? threadId : undefined, now);
      return new Command({ update, goto: END });
    }
    return new Command({ update, goto: turn.tasks.map((task) => new Send(workerNodeFor(task), task)) });
  };
}
