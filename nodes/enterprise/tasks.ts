import type { Action, RetryPolicy } from "../../state/enterprise/definition.js";

/** The worker nodes, one per kind of work. */
export const WORKER_NODES = ["llm_worker", "set_worker", "react_worker", "split_worker"] as const;
export type WorkerNode = (typeof WORKER_NODES)[number];

/**
 * One unit of work the orchestrator Sends to a worker. It carries everything the worker needs, so
 * the payload saved with the Send is enough to run it again in another process.
 */
export interface WorkerTask {
  /** The step record the outcome goes to: a step id, or `<worker id>#<n>` for an orchestrated subtask. */
  key: string;
  /** The definition step whose action runs: model calls are made under this name (the fault plan's key). */
  stepId: string;
  /** How the outcome is recorded: a step of its own, one iteration of a loop, or an orchestrator's subtask list. */
  role: "step" | "iteration" | "split";
  action: Action;
  /** Context values, dependencies' results (`results`), inputMapping values and, for subtasks, `subtask`. */
  scope: Record<string, unknown>;
  outputMapping: Record<string, string>;
  retry: RetryPolicy;
  timeoutSeconds: number;
  /** The workflow's deadline, ISO: the step's time is cut to it. */
  deadline: string;
  iteration?: number;
}

export function workerNodeFor(task: Pick<WorkerTask, "role" | "action">): WorkerNode {
  if (task.role === "split") return "split_worker";
  if ("llm" in task.action) return "llm_worker";
  if ("set" in task.action) return "set_worker";
  return "react_worker";
}
