import type { RunnableConfig } from "@langchain/core/runnables";
import { ExponentialBackoff, TaskCancelledError, TimeoutStrategy, handleAll, retry, timeout, wrap } from "cockatiel";
import type { Action } from "../../state/enterprise/definition.js";
import { evaluateExpression } from "../../state/enterprise/expressions.js";
import type { EnterpriseUpdate } from "../../state/enterprise/state.js";
import { runLlmAction, runReactAction, runSetAction, runSplit, type ActionCall } from "./actions.js";
import { stepTimeBudget } from "./decisions.js";
import type { WorkerTask } from "./tasks.js";

export interface Execution<T> {
  ok: boolean;
  value?: T;
  error?: string;
  attempts: number;
  durationMs: number;
}

/**
 * Runs the work under the step's policy: at most retry.maxAttempts attempts, exponential backoff
 * with jitter between them, and all of it within the step's timeout (cut to the workflow's
 * deadline). The AbortSignal reaches the model call; a call that ignores it is abandoned anyway.
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
  const elapsed = () => Math.round(now() - started);
  if (budgetMs <= 0) return { ok: false, error: `the workflow deadline ${task.deadline} passed before the step ran`, attempts, durationMs: 0 };
  const policy = wrap(
    timeout(budgetMs, TimeoutStrategy.Aggressive),
    retry(handleAll, {
      maxAttempts: task.retry.maxAttempts - 1,
      backoff: new ExponentialBackoff({ initialDelay: task.retry.backoff.initialDelayMs, maxDelay: task.retry.backoff.maxDelayMs }),
    }),
  );
  try {
    const value = await policy.execute(({ signal }) => {
      attempts++;
      return work(signal);
    });
    return { ok: true, value, attempts, durationMs: elapsed() };
  } catch (error) {
    const message =
      error instanceof TaskCancelledError
        ? cutByDeadline
          ? `cut off at the workflow deadline ${task.deadline}`
          : `timed out after ${task.timeoutSeconds} s (timeoutSeconds)`
        : error instanceof Error
          ? error.message.split("\n")[0]!
          : String(error);
    return { ok: false, error: message, attempts, durationMs: elapsed() };
  }
}

/** The step's outcome as a state update: its record, result, mapped context values and audit entry. */
export function outcomeUpdate(task: WorkerTask, execution: Execution<unknown>, now: number): EnterpriseUpdate {
  const at = new Date(now).toISOString();
  const { key } = task;
  const common = { attempts: execution.attempts, ...(task.iteration ? { iterations: task.iteration } : {}) };
  const retryCount = { [key]: execution.attempts };
  let context: Record<string, unknown> = {};
  let error = execution.error;
  if (execution.ok && task.role !== "split") {
    try {
      const output = execution.value;
      const scope = { ...task.scope, output };
      context = {
        ...("set" in task.action ? (output as Record<string, unknown>) : {}),
        ...Object.fromEntries(Object.entries(task.outputMapping).map(([name, text]) => [name, evaluateExpression(text, scope)])),
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
    steps: { [key]: { ...common, ...(settled ? { status: "COMPLETED" as const, finishedAt: at, durationMs: execution.durationMs } : {}) } },
    intermediateResults: { [key]: execution.value ?? null },
    context,
    ...(settled ? { completedSteps: [key], stepTimings: { [key]: execution.durationMs } } : {}),
    retryCount,
    auditTrail: [{ at, event: settled ? "step_completed" : "loop_iteration", stepId: key, ...(task.iteration ? { detail: `iteration ${task.iteration}` } : {}) }],
  };
}

type Perform = (task: WorkerTask, call: ActionCall) => Promise<unknown>;

/** A worker node: the task's action under its policy, never throwing, the outcome recorded. */
function workerNode(perform: Perform) {
  return async (task: WorkerTask, config: RunnableConfig): Promise<EnterpriseUpdate> => {
    const execution = await executeWithPolicy(task, (signal) => perform(task, { stepId: task.stepId, scope: task.scope, signal, config }));
    return outcomeUpdate(task, execution, Date.now());
  };
}

function actionOf<K extends "llm" | "set" | "react">(task: WorkerTask, kind: K): Extract<Action, Record<K, unknown>> {
  if (!(kind in task.action)) throw new Error(`step '${task.stepId}' was sent to the ${kind} worker with another action`);
  return task.action as Extract<Action, Record<K, unknown>>;
}

export const llmWorker = workerNode((task, call) => runLlmAction(actionOf(task, "llm"), call));
export const setWorker = workerNode(async (task) => runSetAction(actionOf(task, "set").set, task.scope));
export const reactWorker = workerNode((task, call) => runReactAction(actionOf(task, "react").react, call));
export const splitWorker = workerNode((task, call) => runSplit(actionOf(task, "llm"), call));
