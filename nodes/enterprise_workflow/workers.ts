import type { RunnableConfig } from "@langchain/core/runnables";
import { isGraphBubbleUp } from "@langchain/langgraph";
import {
  ExponentialBackoff,
  TaskCancelledError,
  TimeoutStrategy,
  fullJitterGenerator,
  handleWhen,
  retry,
  timeout,
  wrap,
} from "cockatiel";
import type { Action } from "../../state/enterprise_workflow/definition.js";
import { evaluateExpression } from "../../state/enterprise_workflow/expressions.js";
import type { AuditEntry, EnterpriseUpdate } from "../../state/enterprise_workflow/state.js";
import { runLlmAction, runReactAction, runSetAction, runSplit, type ActionCall } from "./actions.js";
import { renderTemplate, stepTimeBudget } from "./decisions.js";
import type { EngineServices } from "./services.js";
import type { WorkerTask } from "./tasks.js";
import { CircuitOpenError, breakerOptions, throughBreaker } from "../../checkpoints/breakers.js";
import { logAt } from "../../checkpoints/log.js";
import {
  IDEMPOTENCY_HEADER,
  SsrfRefusedError,
  endpointName,
  resolveEnvReferences,
  sendWebhook,
  webhookSettings,
} from "./webhook.js";

export interface Execution<T> {
  ok: boolean;
  value?: T;
  error?: string;
  attempts: number;
  /** The wait before each retry, in ms. */
  retryDelaysMs: number[];
  durationMs: number;
}

/**
 * The longest wait before retry `n` (1-based): initialDelayMs doubled per retry, capped at
 * maxDelayMs. Full jitter waits a uniformly random time below it, so clients that failed together
 * do not retry together.
 */
export function retryDelayBound(n: number, backoff: WorkerTask["retry"]["backoff"]): number {
  return Math.min(backoff.maxDelayMs, backoff.initialDelayMs * 2 ** (n - 1));
}

/** A child run that ended CANCELLED: running it again would undo the cancel its parent passed on. */
export class ChildCancelledError extends Error {}

/** A refused address stays refused, an open breaker stays open past any backoff, a cancel stands: retrying them only delays the failure. */
export const retryable = (error: Error) =>
  !(error instanceof SsrfRefusedError || error instanceof CircuitOpenError || error instanceof ChildCancelledError);

/**
 * Runs the work under the step's policy: at most retry.maxAttempts attempts, exponential backoff
 * with full jitter between them (retryDelayBound), and all of it within the step's timeout (cut to the workflow's
 * deadline). The AbortSignal reaches the model call; a call that ignores it is abandoned anyway.
 * A child's interrupt is no failure: it leaves the step as LangGraph's own, to be resumed.
 */
export async function executeWithPolicy<T>(
  task: Pick<WorkerTask, "retry" | "timeoutSeconds" | "deadline">,
  work: (signal: AbortSignal) => Promise<T>,
  now: () => number = Date.now,
): Promise<Execution<T>> {
  const started = now();
  const budgetMs = stepTimeBudget(task.timeoutSeconds, task.deadline, started);
  const cutByDeadline = budgetMs < task.timeoutSeconds * 1000;
  let attempts = 0;
  const retryDelaysMs: number[] = [];
  const elapsed = () => Math.round(now() - started);
  if (budgetMs <= 0)
    return {
      ok: false,
      error: `the workflow deadline ${task.deadline} passed before the step ran`,
      attempts,
      retryDelaysMs,
      durationMs: 0,
    };
  const retries = retry(
    handleWhen((error) => retryable(error) && !isGraphBubbleUp(error)),
    {
      maxAttempts: task.retry.maxAttempts - 1,
      backoff: new ExponentialBackoff({
        generator: fullJitterGenerator,
        initialDelay: task.retry.backoff.initialDelayMs,
        maxDelay: task.retry.backoff.maxDelayMs,
      }),
    },
  );
  retries.onRetry(({ delay }) => retryDelaysMs.push(delay));
  const policy = wrap(timeout(budgetMs, TimeoutStrategy.Aggressive), retries);
  try {
    const value = await policy.execute(({ signal }) => {
      attempts++;
      return work(signal);
    });
    return { ok: true, value, attempts, retryDelaysMs, durationMs: elapsed() };
  } catch (error) {
    if (isGraphBubbleUp(error)) throw error;
    const message =
      error instanceof TaskCancelledError
        ? cutByDeadline
          ? `cut off at the workflow deadline ${task.deadline}`
          : `timed out after ${task.timeoutSeconds} s (timeoutSeconds)`
        : error instanceof Error
          ? error.message.split("\n")[0]!
          : String(error);
    return { ok: false, error: message, attempts, retryDelaysMs, durationMs: elapsed() };
  }
}

/** The step's outcome as a state update: its record, result, mapped context values and audit entry. */
export function outcomeUpdate(
  task: Pick<WorkerTask, "key" | "role" | "scope" | "outputMapping" | "iteration"> & { action?: Action },
  execution: Execution<unknown>,
  now: number,
): EnterpriseUpdate {
  const at = new Date(now).toISOString();
  const { key } = task;
  const common = {
    attempts: execution.attempts,
    retryDelaysMs: execution.retryDelaysMs,
    ...(task.iteration ? { iterations: task.iteration } : {}),
  };
  const retryCount = { [key]: execution.attempts };
  let context: Record<string, unknown> = {};
  let error = execution.error;
  if (execution.ok && task.role !== "split") {
    try {
      const output = execution.value;
      const scope = { ...task.scope, output };
      context = {
        ...(task.action && "set" in task.action ? (output as Record<string, unknown>) : {}),
        ...Object.fromEntries(
          Object.entries(task.outputMapping).map(([name, text]) => [name, evaluateExpression(text, scope)]),
        ),
      };
    } catch (mappingError) {
      error = `outputMapping: ${(mappingError as Error).message}`;
    }
  }
  if (error !== undefined) {
    return {
      steps: { [key]: { ...common, status: "FAILED", error, finishedAt: at, durationMs: execution.durationMs } },
      failedSteps: [key],
      errors: [{ stepId: key, message: error, at }],
      retryCount,
      stepTimings: { [key]: execution.durationMs },
      auditTrail: [{ at, event: "step_failed", stepId: key, detail: error }],
    };
  }
  if (task.role === "split") {
    const subtasks = execution.value as string[];
    return {
      steps: { [key]: { ...common, subtasks } },
      retryCount,
      auditTrail: [{ at, event: "subtasks_planned", stepId: key, detail: `${subtasks.length} subtasks` }],
    };
  }
  const settled = task.role === "step";
  return {
    steps: {
      [key]: {
        ...common,
        ...(settled ? { status: "COMPLETED" as const, finishedAt: at, durationMs: execution.durationMs } : {}),
      },
    },
    intermediateResults: { [key]: execution.value ?? null },
    context,
    ...(settled ? { completedSteps: [key], stepTimings: { [key]: execution.durationMs } } : {}),
    retryCount,
    auditTrail: [
      {
        at,
        event: settled ? "step_completed" : "loop_iteration",
        stepId: key,
        ...(task.iteration ? { detail: `iteration ${task.iteration}` } : {}),
      },
    ],
  };
}

/** Where webhook calls are audited: method, endpoint without query, status and idempotency key; never headers. */
type AuditSink = (entry: Omit<AuditEntry, "at">) => void;

type Perform = (task: WorkerTask, call: ActionCall, audit: AuditSink) => Promise<unknown>;

/** A worker node: the task's action under its policy, never throwing, the outcome recorded. */
function workerNode(
  perform: Perform,
  record: (task: WorkerTask, execution: Execution<unknown>, now: number) => EnterpriseUpdate = outcomeUpdate,
) {
  return async (task: WorkerTask, config: RunnableConfig): Promise<EnterpriseUpdate> => {
    const calls: AuditEntry[] = [];
    const audit: AuditSink = (entry) => calls.push({ at: new Date().toISOString(), ...entry });
    // The action is logged whole: its headers are redacted by path (checkpoints/log.ts), never chosen here.
    logAt("debug")?.debug({ step: task.key, action: task.action }, "step started");
    const execution = await executeWithPolicy(task, (signal) =>
      perform(task, { stepId: task.stepId, scope: task.scope, signal, config }, audit),
    );
    logStepOutcome(task, execution);
    const update = record(task, execution, Date.now());
    return calls.length
      ? { ...update, auditTrail: [...calls, ...(Array.isArray(update.auditTrail) ? update.auditTrail : [])] }
      : update;
  };
}

/** A failure or a retried success is worth a line at the default level; a plain success only at debug. */
function logStepOutcome(task: WorkerTask, execution: Execution<unknown>): void {
  const level = !execution.ok ? "warn" : execution.attempts > 1 ? "info" : "debug";
  const { attempts, retryDelaysMs, durationMs, error } = execution;
  logAt(level)?.[level](
    { step: task.key, attempts, retryDelaysMs, ms: durationMs, ...(error ? { err: error } : {}) },
    execution.ok ? "step completed" : "step failed",
  );
}

function actionOf<K extends "llm" | "set" | "react" | "webhook">(
  task: WorkerTask,
  kind: K,
): Extract<Action, Record<K, unknown>> {
  if (!(kind in task.action))
    throw new Error(`step '${task.stepId}' was sent to the ${kind} worker with another action`);
  return task.action as Extract<Action, Record<K, unknown>>;
}

/** `threadId:stepKey:attemptGroup`: the same for a retry and for a resume after a crash, new only when the step is sent again. */
export function idempotencyKey(config: RunnableConfig, task: Pick<WorkerTask, "key" | "attemptGroup">): string {
  const threadId = config.configurable?.thread_id;
  return `${typeof threadId === "string" ? threadId : "no-thread"}:${task.key}:${task.attemptGroup}`;
}

/** `{webhook: ...}`: the endpoint and headers resolved now (env references included), sent through the endpoint's breaker. */
async function runWebhook(
  services: EngineServices,
  task: WorkerTask,
  call: ActionCall,
  audit: AuditSink,
): Promise<unknown> {
  const { webhook } = actionOf(task, "webhook");
  let url: URL;
  try {
    url = new URL(
      resolveEnvReferences(renderTemplate(webhook.endpoint, call.scope), "the webhook endpoint", services.env),
    );
  } catch (error) {
    throw new Error(
      error instanceof TypeError ? `the webhook endpoint '${webhook.endpoint}' is not a URL` : (error as Error).message,
    );
  }
  const headers = Object.fromEntries(
    Object.entries(webhook.headers).map(([name, value]) => [
      name,
      resolveEnvReferences(value, `header ${name}`, services.env),
    ]),
  );
  const body = webhook.payload
    ? Object.fromEntries(
        Object.entries(webhook.payload).map(([name, text]) => [name, evaluateExpression(text, call.scope)]),
      )
    : call.scope;
  const key = idempotencyKey(call.config, task);
  const endpoint = endpointName(url);
  const controls = await services.controls();
  const { ORCHESTRA_WEBHOOK_ALLOW_HOSTS: allowHosts } = webhookSettings(services.env);
  try {
    const response = await throughBreaker(
      controls,
      endpoint,
      () =>
        sendWebhook({
          url,
          method: webhook.method,
          headers,
          body,
          idempotencyKey: key,
          signal: call.signal,
          allowHosts,
        }),
      { ...breakerOptions(services.env), clock: services.clock },
    );
    audit({
      event: "webhook_called",
      stepId: task.key,
      detail: `${webhook.method} ${endpoint} → ${response.status} (${IDEMPOTENCY_HEADER} ${key})`,
    });
    return response;
  } catch (error) {
    audit({
      event: "webhook_failed",
      stepId: task.key,
      detail: `${webhook.method} ${endpoint} (${IDEMPOTENCY_HEADER} ${key}): ${(error as Error).message}`,
    });
    throw error;
  }
}

/** Any action, for error handlers and compensations. */
function runAnyAction(services: EngineServices): Perform {
  return (task, call, audit) => {
    const { action } = task;
    if ("llm" in action) return runLlmAction(action, call);
    if ("set" in action) return Promise.resolve(runSetAction(action.set, task.scope));
    if ("react" in action) return runReactAction(action.react, call);
    return runWebhook(services, task, call, audit);
  };
}

/** An error handler's or compensation's outcome: recorded and audited; it never changes the step it belongs to. */
export function recoveryUpdate(task: WorkerTask, execution: Execution<unknown>, now: number): EnterpriseUpdate {
  const at = new Date(now).toISOString();
  const kind = task.recovery?.kind ?? "compensation";
  const owner = task.recovery?.owner ?? task.key;
  const status = execution.ok ? "COMPLETED" : "FAILED";
  const context = execution.ok && "set" in task.action ? (execution.value as Record<string, unknown>) : {};
  return {
    recovery: { [task.key]: { kind, owner, status, at, ...(execution.error ? { error: execution.error } : {}) } },
    context,
    auditTrail: [
      {
        at,
        event: `${kind}_${execution.ok ? "completed" : "failed"}`,
        stepId: task.key,
        ...(execution.error ? { detail: execution.error } : {}),
      },
    ],
  };
}

export function createWorkers(services: EngineServices) {
  return {
    llm_worker: workerNode((task, call) => runLlmAction(actionOf(task, "llm"), call)),
    set_worker: workerNode(async (task) => runSetAction(actionOf(task, "set").set, task.scope)),
    react_worker: workerNode((task, call) => runReactAction(actionOf(task, "react").react, call)),
    split_worker: workerNode((task, call) => runSplit(actionOf(task, "llm"), call)),
    webhook_worker: workerNode((task, call, audit) => runWebhook(services, task, call, audit)),
    recovery_worker: workerNode(runAnyAction(services), recoveryUpdate),
  };
}
