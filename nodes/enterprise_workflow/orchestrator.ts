import { randomUUID } from "node:crypto";
import type { RunnableConfig } from "@langchain/core/runnables";
import { Command, END, Send } from "@langchain/langgraph";
import type { ControlRequest } from "../../checkpoints/enterprise_workflow/controls.js";
import { MAX_SUBWORKFLOW_DEPTH, type AdvancedWorkflow } from "../../state/enterprise_workflow/definition.js";
import { checkHierarchy, type ChildCatalog } from "../../state/enterprise_workflow/hierarchy.js";
import { checkDefinition } from "../../state/enterprise_workflow/loader.js";
import {
  WORKFLOW_ERROR,
  type AuditEntry,
  type EnterpriseState,
  type EnterpriseUpdate,
  type RollbackPlan,
  type WorkflowStatus,
} from "../../state/enterprise_workflow/state.js";
import { deadlineReached, isSettled, unsettledSteps } from "./decisions.js";
import { applyOnFailure } from "./escalation.js";
import { advanceRunning, blockingFailure, startReadySteps } from "./phases.js";
import { pendingCompensations, pendingErrorHandlers, recoveryTask } from "./recovery.js";
import { ancestorThreads } from "./children.js";
import type { EngineServices } from "./services.js";
import { raiseSlaAlerts, slaChecks, type SlaCheck } from "./sla.js";
import { collected, completedInOrder, dispatch, newDraft, unstartThisTurn, type TurnDraft } from "./turn.js";
import { WORKER_NODES, workerNodeFor, type EngineTask } from "./tasks.js";

export const ORCHESTRATOR_ENDS = [...WORKER_NODES, "orchestrator", "pause_gate", END];

export { pendingCompensations, pendingErrorHandlers, type RecoveryItem } from "./recovery.js";

/** The first turn: the definition checked, the context and the absolute deadline set. */
export function initialize(
  rawDefinition: unknown,
  input: Record<string, unknown>,
  now: number,
  trigger?: EnterpriseState["trigger"],
): EnterpriseUpdate {
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
      ...(trigger
        ? [{ at, event: "event_received", detail: `trigger ${trigger.name}, event ${trigger.eventId}` }]
        : []),
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

/** The run ends with `status`: steps this turn would have started stay unstarted, the sinks' results are its result, SLA targets are checked. */
export function finishRun(draft: TurnDraft, status: WorkflowStatus, detail: string): Turn {
  const { workflow, state, at } = draft;
  unstartThisTurn(draft);
  const sinks = workflow.steps.filter(
    (step) => !workflow.steps.some((other) => other.dependencies.includes(step.stepId)),
  );
  const finalResult = Object.fromEntries(
    sinks.map((step) => [step.stepId, state.intermediateResults[step.stepId] ?? draft.results[step.stepId] ?? null]),
  );
  const checks = slaChecks(workflow, draft.records, state.startTime, draft.now);
  const breaches = checks
    .filter((check) => check.breached)
    .map(
      (check): AuditEntry => ({
        at,
        event: "sla_breached",
        stepId: check.stepId ?? WORKFLOW_ERROR,
        detail: check.detail,
      }),
    );
  return {
    finished: true,
    tasks: [],
    slaChecks: checks,
    update: {
      ...collected(draft),
      status,
      currentSteps: [],
      endTime: at,
      finalResult,
      // A rollback recorded the failure when it started.
      ...((status === "FAILED" || status === "TIMEOUT") && !state.rollback
        ? { errors: [...draft.errors, { stepId: WORKFLOW_ERROR, message: detail, at }] }
        : {}),
      auditTrail: [...draft.audit, ...breaches, { at, event: `workflow_${status.toLowerCase()}`, detail }],
    },
  };
}

/** The run cannot go on: compensate what completed, newest first, one per turn, then end with the plan's status. */
export function rollBack(draft: TurnDraft, plan: RollbackPlan, actor?: string): Turn {
  const { state, at } = draft;
  const next = pendingCompensations(draft.workflow, completedInOrder(draft), state.recovery, [], {
    ...state.intermediateResults,
    ...draft.results,
  })[0];
  if (!next) {
    const ran = Object.values(state.recovery).filter((record) => record.kind === "compensation");
    const failedCompensations = ran.filter((record) => record.status === "FAILED").length;
    const summary = ran.length
      ? `; ${ran.length} compensations run${failedCompensations ? `, ${failedCompensations} failed` : ""}`
      : "";
    return finishRun(draft, plan.target, `${plan.reason}${summary}`);
  }
  draft.tasks.length = 0;
  unstartThisTurn(draft);
  dispatch(draft, recoveryTask(draft, next, "compensation"));
  const starting = state.rollback === undefined;
  return {
    finished: false,
    tasks: draft.tasks,
    update: {
      ...collected(draft),
      status: "ROLLBACK",
      currentSteps: [next.key],
      ...(starting
        ? {
            rollback: plan,
            ...(plan.target === "FAILED"
              ? { errors: [...draft.errors, { stepId: WORKFLOW_ERROR, message: plan.reason, at }] }
              : {}),
            auditTrail: [
              ...draft.audit,
              { at, event: "rollback_started", ...(actor ? { actor } : {}), detail: plan.reason },
            ],
          }
        : {}),
    },
  };
}

/**
 * Phase 3, after the steps moved: a blocking failure rolls back once its error handlers ran; with
 * nothing left to send the run completes, or fails naming the steps that wait; else the work goes out.
 */
export function closeTurn(draft: TurnDraft): Turn {
  const { workflow, records } = draft;
  const handlers = pendingErrorHandlers(workflow, records, draft.state.recovery);
  const blocking = blockingFailure(draft);
  if (blocking) {
    if (!handlers.length)
      return rollBack(draft, {
        target: "FAILED",
        reason: `step '${blocking.stepId}' failed: ${records[blocking.stepId]!.error ?? "failed"}`,
      });
    // The failed step's handlers run before the rollback; work this turn would have started waits.
    draft.tasks.length = 0;
    unstartThisTurn(draft);
  }
  for (const item of handlers) dispatch(draft, recoveryTask(draft, item, "error_handler"));
  if (draft.tasks.length === 0) {
    const stuck = unsettledSteps(workflow, records);
    if (stuck.length === 0) return finishRun(draft, "COMPLETED", `${workflow.steps.length} steps settled`);
    const waits = stuck.map((id) => {
      const blockers = draft.byId
        .get(id)!
        .dependencies.filter((dep) => !isSettled(records[dep]) || records[dep]?.status === "FAILED");
      return blockers.length ? `${id} (waits on ${blockers.join(", ")})` : id;
    });
    return finishRun(draft, "FAILED", `stuck: no step can run, and these remain: ${waits.join("; ")}`);
  }
  return {
    finished: false,
    tasks: draft.tasks,
    update: {
      ...collected(draft),
      status: draft.tasks.some((task) => task.kind === "approval") ? "WAITING_APPROVAL" : "RUNNING",
      currentSteps: [...new Set(draft.tasks.map((task) => task.key))],
    },
  };
}

/**
 * One turn of the orchestrator, from the saved state alone: fold the workers' outcomes into their
 * steps, decide which steps settle without work (skipped, empty, stopped loops), and pick the work
 * to Send next within the workflow's and each parallel step's concurrency limits.
 */
export function planTurn(
  state: EnterpriseState,
  workflow: AdvancedWorkflow,
  now: number,
  cancel?: Pick<ControlRequest, "actor">,
): Turn {
  const draft = newDraft(state, workflow, now);
  if (state.rollback) return rollBack(draft, state.rollback);
  if (cancel) return rollBack(draft, { target: "CANCELLED", reason: `cancelled by ${cancel.actor}` }, cancel.actor);
  if (deadlineReached(state.deadline, now)) {
    const running = unsettledSteps(workflow, draft.records).filter((id) => draft.records[id]?.status === "RUNNING");
    return finishRun(
      draft,
      "TIMEOUT",
      `deadline ${state.deadline} passed${running.length ? ` with ${running.join(", ")} unfinished` : ""}`,
    );
  }
  advanceRunning(draft);
  // A failure's retry or hand-over may make steps ready, and steps that start may fail at once.
  do startReadySteps(draft);
  while (applyOnFailure(draft));
  return closeTurn(draft);
}

/** The first turn: the definition loaded when named, checked with its children (within what is left of the depth limit), and the run set up. */
async function firstTurn(
  state: EnterpriseState,
  catalog: ChildCatalog,
  depth: number,
  now: number,
): Promise<EnterpriseUpdate> {
  const at = new Date(now).toISOString();
  try {
    const definition =
      typeof state.definition === "string" ? await catalog.loadNamed(state.definition) : state.definition;
    const update = initialize(definition, state.input, now, state.trigger);
    if (update.workflow) await checkHierarchy(update.workflow, catalog, MAX_SUBWORKFLOW_DEPTH - depth + 1);
    return update;
  } catch (error) {
    return failedRun(at, (error as Error).message);
  }
}

/**
 * A child (inline: a deeper engine on its parent's thread; detached: a thread named after its
 * parent's) starts past the requests its ancestors already acted on, so a pause its parent was
 * resumed from does not stop it; a cancel filed later reaches it.
 */
async function requestsBeforeChild(
  services: EngineServices,
  threadId: string,
  depth: number,
): Promise<Pick<EnterpriseUpdate, "lastControlRequest">> {
  const ancestors = ancestorThreads(threadId);
  if (depth === 1 && !ancestors.length) return {};
  return { lastControlRequest: await (await services.controls()).latestRequestId([threadId, ...ancestors]) };
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
    const threadId = config.configurable?.thread_id;
    if (state.status === "INITIALIZING") {
      const update = await firstTurn(state, catalog, depth, now);
      const seenBefore = typeof threadId === "string" ? await requestsBeforeChild(services, threadId, depth) : {};
      return new Command({
        update: { ...update, ...seenBefore },
        goto: update.status === "RUNNING" ? "orchestrator" : END,
      });
    }
    const request =
      typeof threadId === "string"
        ? await (await services.controls()).nextRequest(threadId, state.lastControlRequest, ancestorThreads(threadId))
        : undefined;
    const seen = request ? { lastControlRequest: request.id } : {};
    if (request?.kind === "pause") {
      if (!state.rollback) {
        return new Command({
          update: {
            ...seen,
            status: "PAUSED",
            currentSteps: [],
            auditTrail: [{ at, event: "workflow_paused", actor: request.actor }],
          },
          goto: "pause_gate",
        });
      }
    }
    const cancel = request?.kind === "cancel" && !state.rollback ? request : undefined;
    const ignored: AuditEntry[] =
      request && !cancel
        ? [{ at, event: `${request.kind}_ignored`, actor: request.actor, detail: "the run is rolling back" }]
        : [];
    const turn = planTurn(state, state.workflow!, now, cancel);
    const update = {
      ...turn.update,
      ...seen,
      auditTrail: [...ignored, ...(Array.isArray(turn.update.auditTrail) ? turn.update.auditTrail : [])],
    };
    if (turn.finished) {
      await raiseSlaAlerts(
        services,
        state.workflow!,
        turn.slaChecks ?? [],
        typeof threadId === "string" ? threadId : undefined,
        now,
      );
      return new Command({ update, goto: END });
    }
    return new Command({ update, goto: turn.tasks.map((task) => new Send(workerNodeFor(task), task)) });
  };
}
