import type { LangGraphRunnableConfig } from "@langchain/langgraph";
import { feedbackInRound } from "../../state/shared/review.js";
import {
  branchNodeFor,
  currentResult,
  settingsOf,
  type BranchAllocation,
  type RecoveryStrategy,
  type TimelineEvent,
  type WorkflowStateType,
  type WorkflowUpdate,
} from "../../state/parallel_workflow/workflow.js";
import type { Settings } from "../../state/parallel_workflow/configuration.js";
import { alternateOf } from "../../state/parallel_workflow/branches.js";
import { now } from "../../state/shared/time.js";
import { emitPhase } from "../../state/parallel_workflow/progress.js";

export const RETRY_BACKOFF_BASE_MS = 250;

/** The first retry repeats the work after a backoff, the second moves it to another node, later ones narrow it. */
export function recoveryStrategy(retry: number): RecoveryStrategy {
  if (retry <= 1) return "retry";
  if (retry === 2) return "reassign";
  return "reduced_scope";
}

/** Re-queues failed branches that have retries left, each with its strategy. */
export function planRecovery(
  state: Pick<WorkflowStateType, "activeBranches" | "completedBranches" | "retryCounts">,
  maxRetries: number,
) {
  const requeued: Record<string, BranchAllocation> = {};
  const retryCounts: Record<string, number> = {};
  const events: TimelineEvent[] = [];
  for (const allocation of Object.values(state.activeBranches)) {
    const result = currentResult(state, allocation.branchId);
    const retries = state.retryCounts[allocation.branchId] ?? 0;
    if (result?.status !== "failed" || retries >= maxRetries) continue;
    const retry = retries + 1;
    const strategy = recoveryStrategy(retry);
    const backoffMs = RETRY_BACKOFF_BASE_MS * 2 ** (retry - 1);
    requeued[allocation.branchId] = {
      ...allocation,
      attempt: allocation.attempt + 1,
      backoffMs,
      ...(strategy === "reassign" ? { assignedNode: alternateOf(branchNodeFor(allocation)) } : {}),
      ...(strategy === "reduced_scope"
        ? { scope: "reduced" as const, resources: { ...allocation.resources, maxFindings: 2 } }
        : {}),
    };
    retryCounts[allocation.branchId] = retry;
    events.push({
      at: now(),
      event: "branch_requeued",
      node: "load_balancer",
      branchId: allocation.branchId,
      reason: result.error ?? "failed",
      strategy,
      retry,
      backoffMs,
      toNode: branchNodeFor(requeued[allocation.branchId]!),
    });
  }
  return { requeued, retryCounts, events };
}

/** The branches a revision re-runs: those below the quality threshold, or else the weakest one. */
export function weakestBranches(
  state: Pick<WorkflowStateType, "activeBranches" | "completedBranches">,
  threshold: number,
): string[] {
  const succeeded = Object.keys(state.activeBranches)
    .map((id) => currentResult(state, id))
    .filter((r) => r?.status === "success")
    .sort((a, b) => a!.performance.dataQualityScore - b!.performance.dataQualityScore);
  const below = succeeded.filter((r) => r!.performance.dataQualityScore < threshold);
  return (below.length ? below : succeeded.slice(0, 1)).map((r) => r!.branchId);
}

/** The feedback a revision carries: the reviewer's words this round, else the validator's issues. */
export function revisionFeedback(
  state: Pick<WorkflowStateType, "reviewDecisions" | "qualityReport" | "revisionCount">,
) {
  const reviewer = feedbackInRound(state.reviewDecisions, state.revisionCount);
  if (reviewer.length) return reviewer.join(" ");
  const issues = state.qualityReport?.judge?.issues ?? [];
  return issues.length ? issues.join(" ") : (state.qualityReport?.reason ?? "Raise the quality of the findings.");
}

/** After needs_revision: re-queues the weakest branches with the revision's feedback. */
function revisionUpdate(state: WorkflowStateType, settings: Settings): WorkflowUpdate {
  const revision = state.revisionCount + 1;
  const feedback = revisionFeedback(state);
  const ids = weakestBranches(state, settings.qualityThreshold);
  const requeued = Object.fromEntries(
    ids.map((id) => {
      const allocation = state.activeBranches[id]!;
      return [id, { ...allocation, attempt: allocation.attempt + 1, backoffMs: 0, feedback }];
    }),
  );
  return {
    activeBranches: requeued,
    revisionCount: revision,
    loadBalancingMetrics: { revisionsIssued: revision },
    executionTimeline: [
      { at: now(), event: "revision_requested", node: "load_balancer", revision, branches: ids, feedback },
    ],
  };
}

/** After timeout_recovery: re-queues the failed branches that have retries left. */
function recoveryUpdate(state: WorkflowStateType, settings: Settings): WorkflowUpdate {
  const { requeued, retryCounts, events } = planRecovery(state, settings.maxRetries);
  const issued = Object.values({ ...state.retryCounts, ...retryCounts }).reduce((a, b) => a + b, 0);
  return {
    activeBranches: requeued,
    retryCounts,
    loadBalancingMetrics: { retriesIssued: issued },
    executionTimeline: events,
  };
}

/**
 * One node for the two routes that lead here: timeout_recovery reassigns failed work,
 * needs_revision re-queues the weakest branches with feedback; both hand back to
 * parallel_coordinator. Both loops are bounded: sync_point_manager routes here only while a
 * failed branch has retries left, and quality_validator only while revisions are left.
 */
export async function loadBalancer(state: WorkflowStateType, config: LangGraphRunnableConfig): Promise<WorkflowUpdate> {
  emitPhase(config, "load_balancer");
  const settings = settingsOf(state);
  const route = state.nextCoordinationAction;
  switch (route) {
    case "needs_revision":
      return revisionUpdate(state, settings);
    case "timeout_recovery":
      return recoveryUpdate(state, settings);
    default:
      throw new Error(`load_balancer: no route leads here after ${route ?? "no decision"}`);
  }
}
