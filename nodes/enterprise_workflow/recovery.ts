import {
  allSteps,
  effectiveRetryPolicy,
  type AdvancedWorkflow,
  type WorkflowStep,
} from "../../state/enterprise_workflow/definition.js";
import type { EnterpriseState, StepRecord } from "../../state/enterprise_workflow/state.js";
import type { WorkerTask } from "./tasks.js";
import type { TurnDraft } from "./turn.js";

/** A pending error handler or compensation: the action, the step key it belongs to, and its recovery key. */
export interface RecoveryItem {
  key: string;
  owner: string;
  step: WorkflowStep;
  action: WorkflowStep["rollbackActions"][number];
  /** How many subworkflow levels below the run rolling back: 0 for its own steps. */
  depth?: number;
}

/** A finished child's compensations, as its parent keeps them in the subworkflow step's result. */
const childCompensations = (result: unknown): RecoveryItem[] =>
  result && typeof result === "object" && Array.isArray((result as { compensations?: unknown }).compensations)
    ? (result as { compensations: RecoveryItem[] }).compensations
    : [];

/** The definition step a record key runs: `research#2` is an orchestrated subtask of `research`. */
const definitionStepOf = (byId: Map<string, WorkflowStep>, key: string) => byId.get(key.split("#")[0]!);

/**
 * Compensations not yet run, in the order they run: the deepest children's first (a completed
 * subworkflow step's result carries its child's, named under the step), then each level's steps
 * in reverse completion order, each step's rollbackActions as listed. Each runs at most once,
 * whichever rollback reaches it first.
 */
export function pendingCompensations(
  workflow: AdvancedWorkflow,
  completedInOrder: readonly string[],
  recovery: EnterpriseState["recovery"],
  exclude: readonly string[] = [],
  results: Record<string, unknown> = {},
): RecoveryItem[] {
  const byId = new Map(allSteps(workflow.steps).map((step) => [step.stepId, step]));
  return [...completedInOrder]
    .reverse()
    .filter((owner) => !exclude.includes(owner))
    .flatMap((owner): RecoveryItem[] => {
      const step = definitionStepOf(byId, owner);
      const inChild = childCompensations(results[owner]).map((item) => ({
        ...item,
        key: `${owner}/${item.key}`,
        owner,
        depth: (item.depth ?? 0) + 1,
      }));
      return [
        ...inChild,
        ...(step?.rollbackActions ?? []).map((action, i) => ({
          key: `${owner}/rollback#${i + 1}`,
          owner,
          step: step!,
          action,
          depth: 0,
        })),
      ];
    })
    .filter((item) => recovery[item.key] === undefined)
    .sort((a, b) => (b.depth ?? 0) - (a.depth ?? 0));
}

/** Error handlers of failed steps that have not run yet. */
export function pendingErrorHandlers(
  workflow: AdvancedWorkflow,
  records: Record<string, StepRecord>,
  recovery: EnterpriseState["recovery"],
): RecoveryItem[] {
  const byId = new Map(allSteps(workflow.steps).map((step) => [step.stepId, step]));
  return Object.entries(records)
    .filter(([, record]) => record.status === "FAILED")
    .flatMap(([owner]) => {
      const step = definitionStepOf(byId, owner);
      return (step?.errorHandlers ?? []).map((action, i) => ({
        key: `${owner}/on_error#${i + 1}`,
        owner,
        step: step!,
        action,
      }));
    })
    .filter((item) => recovery[item.key] === undefined);
}

/** Recovery runs even after the deadline passed: it is what puts the world back. */
export function recoveryTask(draft: TurnDraft, item: RecoveryItem, kind: "error_handler" | "compensation"): WorkerTask {
  return {
    kind: "action",
    key: item.key,
    stepId: item.key,
    role: "recovery",
    action: item.action,
    scope: {
      ...draft.state.context,
      results: { ...draft.state.intermediateResults, ...draft.results },
      failed_step: item.owner,
    },
    outputMapping: {},
    retry: effectiveRetryPolicy(draft.workflow, item.step),
    timeoutSeconds: item.step.timeoutSeconds,
    deadline: new Date(draft.now + item.step.timeoutSeconds * 1000).toISOString(),
    attemptGroup: 1,
    recovery: { kind, owner: item.owner },
  };
}
