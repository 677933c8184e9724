import type { Action, ChildMode, RetryPolicy } from "../../state/enterprise_workflow/definition.js";
import type { RecoveryRecord } from "../../state/enterprise_workflow/state.js";
import type { EventWaitRequest } from "../../state/enterprise_workflow/wait_event.js";

/** The worker nodes, one per kind of work. */
export const WORKER_NODES = [
  "llm_worker",
  "set_worker",
  "react_worker",
  "split_worker",
  "webhook_worker",
  "approval_worker",
  "recovery_worker",
  "event_worker",
] as const;
export type WorkerNode = (typeof WORKER_NODES)[number];

/**
 * One unit of work the orchestrator Sends to a worker. It carries everything the worker needs, so
 * the payload saved with the Send is enough to run it again in another process.
 */
export interface WorkerTask {
  kind: "action";
  /** The step record the outcome goes to: a step id, or `<worker id>#<n>` for an orchestrated subtask; for recovery, the recovery key. */
  key: string;
  /** The definition step whose action runs: model calls are made under this name (the fault plan's key); a recovery action's key. */
  stepId: string;
  /** How the outcome is recorded: a step of its own, one iteration of a loop, an orchestrator's subtask list, or an error handler or compensation. */
  role: "step" | "iteration" | "split" | "recovery";
  action: Action;
  /** Context values, dependencies' results (`results`), inputMapping values and, for subtasks, `subtask`. */
  scope: Record<string, unknown>;
  outputMapping: Record<string, string>;
  retry: RetryPolicy;
  timeoutSeconds: number;
  /** The workflow's deadline, ISO: the step's time is cut to it. */
  deadline: string;
  iteration?: number;
  /** How many times this key's work has been sent, this time included: a webhook's idempotency key names it, so a resume re-sends the same key. */
  attemptGroup: number;
  /** Recovery tasks: what kind, and the step key whose action it is. */
  recovery?: Pick<RecoveryRecord, "kind" | "owner">;
}

/** What an approval interrupt shows the reviewer. */
export interface ApprovalRequest {
  kind: "approval";
  stepId: string;
  name: string;
  question: string;
  /** Roles that may decide; empty: any role. */
  approvers: string[];
  /** Users who may decide; empty: anyone with the role. */
  allowedUsers: string[];
  /** What is being approved: the context and the results of the step's dependencies. */
  subject: Record<string, unknown>;
  /** Why the last answer was refused, when the question is asked again. */
  lastRefusal?: string;
}

export interface ApprovalTask {
  kind: "approval";
  key: string;
  stepId: string;
  request: ApprovalRequest;
  /** When the question was sent: the wait until the answer is added to the workflow's deadline. */
  askedAt: string;
  deadline: string;
  refusals: number;
}

/** A child's question, answered on the parent: a detached child gets the answer on the next dispatch. */
export interface ChildAnswer {
  /** The child's interrupt the answer is for: applied only while the child still waits there. */
  interruptId: string;
  value: unknown;
}

/** A subworkflow step's run of its child, Sent to the child's node (`child_<workflow>`). */
export interface SubworkflowTask {
  kind: "subworkflow";
  key: string;
  stepId: string;
  workflow: string;
  mode: ChildMode;
  /** The child's input: inputMapping's values; for an engine child, `{definition, input}`. */
  input: Record<string, unknown>;
  scope: Record<string, unknown>;
  outputMapping: Record<string, string>;
  retry: RetryPolicy;
  timeoutSeconds: number;
  deadline: string;
  attemptGroup: number;
  /** Detached: an answer given on the parent to the child's question, not yet passed on. */
  answer?: ChildAnswer;
}

/** What a child's interrupt shows on the parent: which step's child asks, and the child's own question. */
export interface ChildQuestion {
  kind: "child";
  stepId: string;
  workflow: string;
  mode: ChildMode;
  /** Detached children: the child's thread, where its own state is. */
  thread?: string;
  interruptId?: string;
  request: unknown;
}

/** A wait_event step's wait, Sent to `event_worker`. */
export interface EventWaitTask {
  kind: "wait_event";
  key: string;
  stepId: string;
  request: EventWaitRequest;
  scope: Record<string, unknown>;
  outputMapping: Record<string, string>;
  /** When the wait began: the time it takes is added to the workflow's deadline, as an approval's is. */
  waitingSince: string;
  deadline: string;
}

export type EngineTask = WorkerTask | ApprovalTask | SubworkflowTask | EventWaitTask;

/** The node that runs children of a registered workflow. */
export const childNode = (workflow: string) => `child_${workflow}`;

export function workerNodeFor(task: EngineTask): string {
  if (task.kind === "subworkflow") return childNode(task.workflow);
  if (task.kind === "approval") return "approval_worker";
  if (task.kind === "wait_event") return "event_worker";
  if (task.role === "recovery") return "recovery_worker";
  if (task.role === "split") return "split_worker";
  if ("llm" in task.action) return "llm_worker";
  if ("set" in task.action) return "set_worker";
  if ("webhook" in task.action) return "webhook_worker";
  return "react_worker";
}
