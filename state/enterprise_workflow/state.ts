import { Annotation } from "@langchain/langgraph";
import { z } from "zod";
import type { AdvancedWorkflow } from "./definition.js";

/** The workflow's lifecycle; TIMEOUT is the end of a run that reached its deadline. */
export const WORKFLOW_STATUSES = [
  "INITIALIZING",
  "RUNNING",
  "PAUSED",
  "WAITING_APPROVAL",
  "COMPLETED",
  "FAILED",
  "CANCELLED",
  "ROLLBACK",
  "TIMEOUT",
] as const;
export type WorkflowStatus = (typeof WORKFLOW_STATUSES)[number];
/** The step id the engine records the workflow's own errors under (a deadline, a definition that cannot run). */
export const WORKFLOW_ERROR = "(workflow)";
export const FINAL_STATUSES: readonly WorkflowStatus[] = ["COMPLETED", "FAILED", "CANCELLED", "TIMEOUT"];

export const STEP_STATUSES = ["PENDING", "RUNNING", "COMPLETED", "FAILED", "SKIPPED", "WAITING", "RETRYING"] as const;
export type StepStatus = (typeof STEP_STATUSES)[number];

/** What the run knows of one step, nested children and orchestrated subtasks included. */
export interface StepRecord {
  status: StepStatus;
  /** Attempts made by the last run of the step's action (1 + retries). */
  attempts?: number;
  /** The waits before each retry of that run, in ms: full jitter, so each is below its exponential bound. */
  retryDelaysMs?: number[];
  /** Loop steps: iterations run. */
  iterations?: number;
  /** Loop steps: true when loopMaxIterations stopped the loop rather than its condition. */
  stoppedByCap?: boolean;
  /** Parallel and orchestrator steps: the keys of their children, in order. */
  children?: string[];
  /** Orchestrator steps: the subtasks the model split the input into. */
  subtasks?: string[];
  /** onFailure: the times the failed step was run again. */
  failureRetries?: number;
  /** onFailure goto: on the failed step, the step standing in for it; on that step, the step it stands in for. */
  fallback?: string;
  standsInFor?: string;
  /** Map steps: the list its items expression gave when it started; a child's record: its item. */
  items?: unknown[];
  item?: unknown;
  /** Orchestrated subtasks: what the worker was asked to do. */
  subtask?: string;
  durationMs?: number;
  startedAt?: string;
  finishedAt?: string;
  error?: string;
  /** Why a skipped step did not run. */
  reason?: string;
  /** How many times the step's work was sent: a webhook's idempotency key names this attempt group. */
  dispatches?: number;
  /** human_approval: answers refused because the reviewer lacked the role or was not an allowed user. */
  refusals?: number;
  /** subworkflow steps run detached: the child's thread. */
  thread?: string;
  /** subworkflow steps run detached: the parent's answer to the child's question, passed on at the next dispatch. */
  answer?: { interruptId: string; value: unknown };
}

/** An error handler or compensation: keyed `<step key>/on_error#<n>` or `<step key>/rollback#<n>`. */
export interface RecoveryRecord {
  kind: "error_handler" | "compensation";
  /** The step key whose action this is. */
  owner: string;
  status: "COMPLETED" | "FAILED";
  error?: string;
  at: string;
}

/** A rollback under way: where the run ends once the compensations have run. */
export interface RollbackPlan {
  target: "FAILED" | "CANCELLED";
  reason: string;
}

/**
 * Who answered an approval: "verified" when the server authenticated the caller (a token or the
 * Auth module), "declared" when the answer names its own reviewer and role (the CLI on a trusted machine).
 */
export interface AuditIdentity {
  source: "verified" | "declared";
  subject: string;
  issuer?: string;
  roles: string[];
}

export interface AuditEntry {
  at: string;
  event: string;
  /** Who caused it: a reviewer, the operator who paused or cancelled, else the engine. */
  actor?: string;
  stepId?: string;
  detail?: string;
  identity?: AuditIdentity;
}

export interface StepError {
  stepId: string;
  message: string;
  at: string;
}

const mergeRecords = <T>(current: Record<string, T>, update: Record<string, T>) => ({ ...current, ...update });

/** Records are merged field by field, so a worker's outcome keeps what the orchestrator noted when it started the step. */
function mergeStepRecords(
  current: Record<string, StepRecord>,
  update: Record<string, Partial<StepRecord>>,
): Record<string, StepRecord> {
  const merged = { ...current };
  for (const [key, record] of Object.entries(update)) merged[key] = { ...merged[key], ...record } as StepRecord;
  return merged;
}

const append = <T>(current: T[], update: T[]) => current.concat(update);

/** Deadlines only move later (an approval's wait is added), and two approvals answered together both shift it. */
const laterDeadline = (current: string | undefined, update: string) =>
  current !== undefined && Date.parse(current) > Date.parse(update) ? current : update;

/** The graph's input: a definition (already checked by the loader, or checked by the orchestrator) and the run's input values. */
export const EnterpriseInputSchema = z.object({
  definition: z.unknown().describe("An AdvancedWorkflow definition, or the name of a stored one"),
  input: z.record(z.string(), z.unknown()).default({}).describe("Values added to the workflow context"),
  trigger: z
    .object({ name: z.string(), eventId: z.string() })
    .optional()
    .describe("The event that started the run, when a trigger did"),
});
export type EnterpriseInput = z.input<typeof EnterpriseInputSchema>;

export const EnterpriseWorkflowState = Annotation.Root({
  /** The input as given; the orchestrator turns it into `workflow` on its first turn. */
  definition: Annotation<unknown>(),
  input: Annotation<Record<string, unknown>>({ reducer: (_, update) => update, default: () => ({}) }),
  /** The trigger and event id that started the run: its first audit entry names them. */
  trigger: Annotation<{ name: string; eventId: string } | undefined>(),
  workflow: Annotation<AdvancedWorkflow | undefined>(),
  workflowId: Annotation<string>(),
  workflowName: Annotation<string>(),
  version: Annotation<string>(),
  status: Annotation<WorkflowStatus>({ reducer: (_, update) => update, default: () => "INITIALIZING" }),
  /** Steps whose work is under way. */
  currentSteps: Annotation<string[]>({ reducer: (_, update) => update, default: () => [] }),
  completedSteps: Annotation<string[]>({ reducer: append, default: () => [] }),
  failedSteps: Annotation<string[]>({ reducer: append, default: () => [] }),
  steps: Annotation<Record<string, StepRecord>, Record<string, Partial<StepRecord>>>({
    reducer: mergeStepRecords,
    default: () => ({}),
  }),
  context: Annotation<Record<string, unknown>>({ reducer: mergeRecords, default: () => ({}) }),
  intermediateResults: Annotation<Record<string, unknown>>({ reducer: mergeRecords, default: () => ({}) }),
  finalResult: Annotation<unknown>(),
  startTime: Annotation<string>(),
  endTime: Annotation<string>(),
  /** Absolute, so a resumed run keeps the deadline the first run started with. */
  deadline: Annotation<string, string>({ reducer: laterDeadline, default: () => "" }),
  stepTimings: Annotation<Record<string, number>>({ reducer: mergeRecords, default: () => ({}) }),
  errors: Annotation<StepError[]>({ reducer: append, default: () => [] }),
  retryCount: Annotation<Record<string, number>>({ reducer: mergeRecords, default: () => ({}) }),
  auditTrail: Annotation<AuditEntry[]>({ reducer: append, default: () => [] }),
  /** Error handlers and compensations that ran, by key. */
  recovery: Annotation<Record<string, RecoveryRecord>>({ reducer: mergeRecords, default: () => ({}) }),
  rollback: Annotation<RollbackPlan | undefined>(),
  /** The last pause or cancel request this run has acted on, so a request is honoured once even across a crash. */
  lastControlRequest: Annotation<number>({ reducer: (_, update) => update, default: () => 0 }),
});

export type EnterpriseState = typeof EnterpriseWorkflowState.State;
export type EnterpriseUpdate = typeof EnterpriseWorkflowState.Update;
