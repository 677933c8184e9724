import {
  effectiveRetryPolicy,
  type AdvancedWorkflow,
  type WorkflowStep,
} from "../../state/enterprise_workflow/definition.js";
import type { StepRecord, StepStatus } from "../../state/enterprise_workflow/state.js";

/** The small pure decisions the orchestrator is made of. */

/**
 * A dependency lets its dependents run once it completed, was skipped, or failed under
 * continueOnFailure; a failed one that handed over (onFailure goto) once the step standing in completed.
 */
export function dependencySettled(
  workflow: AdvancedWorkflow,
  dependency: WorkflowStep,
  record: StepRecord | undefined,
  records: Record<string, StepRecord> = {},
): boolean {
  if (record?.status === "COMPLETED" || record?.status === "SKIPPED") return true;
  if (record?.status === "FAILED" && record.fallback) return records[record.fallback]?.status === "COMPLETED";
  return record?.status === "FAILED" && effectiveRetryPolicy(workflow, dependency).continueOnFailure;
}

/** Steps that run only when a failed step hands over to them (onFailure goto). */
export const standInSteps = (workflow: AdvancedWorkflow) =>
  new Set(
    workflow.steps.flatMap((step) =>
      step.onFailure?.then === "goto" && step.onFailure.step ? [step.onFailure.step] : [],
    ),
  );

/** Top-level steps that have not started and whose dependencies are all settled, in definition order; a stand-in once handed over to. */
export function readySteps(workflow: AdvancedWorkflow, records: Record<string, StepRecord>): WorkflowStep[] {
  const byId = new Map(workflow.steps.map((step) => [step.stepId, step]));
  const standIns = standInSteps(workflow);
  return workflow.steps.filter(
    (step) =>
      (records[step.stepId]?.status ?? "PENDING") === "PENDING" &&
      (!standIns.has(step.stepId) || records[step.stepId]?.standsInFor !== undefined) &&
      step.dependencies.every((id) => dependencySettled(workflow, byId.get(id)!, records[id], records)),
  );
}

const SETTLED: readonly StepStatus[] = ["COMPLETED", "FAILED", "SKIPPED"];
export const isSettled = (record: StepRecord | undefined) => record !== undefined && SETTLED.includes(record.status);

/** Steps that have not settled; when none can run, these are the stuck ones. */
export function unsettledSteps(workflow: AdvancedWorkflow, records: Record<string, StepRecord>): string[] {
  return workflow.steps.filter((step) => !isSettled(records[step.stepId])).map((step) => step.stepId);
}

export interface ParallelOutcome {
  success: boolean;
  total: number;
  succeeded: number;
  failed: number;
  successRate: number;
}

/** A parallel step succeeds when the share of children that succeeded reaches the threshold; no children is a success. */
export function parallelOutcome(statuses: readonly StepStatus[], threshold: number): ParallelOutcome {
  const total = statuses.length;
  const succeeded = statuses.filter((status) => status === "COMPLETED").length;
  const successRate = total ? succeeded / total : 1;
  return { success: total === 0 || successRate >= threshold, total, succeeded, failed: total - succeeded, successRate };
}

export type LoopDecision = "next_iteration" | "condition_false" | "iteration_cap";

/** Checked before each iteration: the condition first, so a loop whose condition turned false on its last iteration stops as that. */
export function loopDecision(iterations: number, maxIterations: number, conditionHolds: boolean): LoopDecision {
  if (!conditionHolds) return "condition_false";
  if (iterations >= maxIterations) return "iteration_cap";
  return "next_iteration";
}

export function deadlineReached(deadline: string, now: number): boolean {
  return now >= Date.parse(deadline);
}

/** Milliseconds a step may run: its own timeout, cut to what is left before the workflow's deadline. */
export function stepTimeBudget(timeoutSeconds: number, deadline: string, now: number): number {
  return Math.max(0, Math.min(timeoutSeconds * 1000, Date.parse(deadline) - now));
}

/** How many children of a parallel step may start now: its maxConcurrent (else the workflow's limit), within what is left of the turn's budget. */
export function childrenToStart(
  pending: number,
  maxConcurrent: number | undefined,
  maxParallelSteps: number,
  budgetLeft: number,
): number {
  return Math.max(0, Math.min(pending, maxConcurrent ?? maxParallelSteps, budgetLeft));
}

/** `{{path.to.value}}` placeholders replaced from the scope; throws naming the first one missing. */
export function renderTemplate(template: string, scope: Record<string, unknown>): string {
  return template.replace(/\{\{\s*([A-Za-z_][\w.-]*)\s*\}\}/g, (_, path: string) => {
    const value = path
      .split(".")
      .reduce<unknown>(
        (node, key) => (node !== null && typeof node === "object" ? (node as Record<string, unknown>)[key] : undefined),
        scope,
      );
    if (value === undefined) throw new Error(`placeholder {{${path}}} has no value in the workflow context`);
    return typeof value === "string" ? value : JSON.stringify(value);
  });
}
