import type { LangGraphRunnableConfig } from "@langchain/langgraph";
import { requestReview } from "../../state/parallel_workflow/review.js";
import { currentResult, settingsOf, type CoordinationAction, type ReviewRequest, type SyncRoute, type SynchronizationStatus, type WorkflowStateType, type WorkflowUpdate } from "../../state/parallel_workflow/workflow.js";
import { now } from "../../state/shared/time.js";
import { pendingBranches } from "./parallel_coordinator.js";
import { emitPhase } from "../../state/parallel_workflow/progress.js";

export const CONDITIONAL_PROCEED_AT = 0.75;

/**
 * The sync rule over the sync point's required branches that succeeded in their current
 * attempt: docs/design.md (Sync), with why continue_waiting goes back to
 * parallel_coordinator and why pending waves come before conditional_proceed.
 */
export function decideSync(
  state: Pick<WorkflowStateType, "activeBranches" | "completedBranches" | "syncPoints" | "retryCounts">,
  syncPoint: string,
  maxRetries: number,
): { action: CoordinationAction; status: SynchronizationStatus } {
  const required = state.syncPoints[syncPoint] ?? [];
  const results = required.map((id) => [id, currentResult(state, id)] as const);
  const completed = results.filter(([, r]) => r?.status === "success").map(([id]) => id);
  const failed = results.filter(([, r]) => r?.status === "failed").map(([id]) => id);
  const pending = pendingBranches(state)
    .map((a) => a.branchId)
    .filter((id) => required.includes(id));
  const progress = required.length ? completed.length / required.length : 0;
  const retryable = failed.filter((id) => (state.retryCounts[id] ?? 0) < maxRetries);

  let action: CoordinationAction;
  let status: SynchronizationStatus["status"];
  if (progress >= 1) [action, status] = ["proceed_to_merge", "completed"];
  else if (pending.length > 0) [action, status] = ["continue_waiting", "waiting"];
  else if (progress >= CONDITIONAL_PROCEED_AT) [action, status] = ["conditional_proceed", "waiting_final"];
  else if (retryable.length > 0) [action, status] = ["timeout_recovery", "recovering"];
  else [action, status] = ["recovery_exhausted", "exhausted"];

  return {
    action,
    status: {
      syncPoint,
      progress,
      completedBranches: completed,
      remainingBranches: required.filter((id) => !completed.includes(id)),
      failedBranches: failed,
      pendingBranches: pending,
      status,
      at: now(),
    },
  };
}

/** What the reviewer judges at a sync point: every branch's outcome. */
function syncReview(state: WorkflowStateType, sync: SynchronizationStatus, action: CoordinationAction): ReviewRequest {
  return {
    point: "sync_point_manager",
    question: `Sync point ${sync.syncPoint}: ${Math.round(sync.progress * 100)}% of branches succeeded; next: ${action}. Approve?`,
    options: ["approve", "reject", "feedback"],
    details: {
      proposedAction: action,
      synchronization: sync,
      branches: (state.syncPoints[sync.syncPoint] ?? []).map((id) => {
        const result = currentResult(state, id);
        return {
          branchId: id,
          node: result?.node,
          status: result?.status ?? "pending",
          quality: result?.performance.dataQualityScore,
          seconds: result?.performance.executionTime,
          error: result?.error,
          summary: result?.results?.summary,
        };
      }),
    },
  };
}

export async function syncPointManager(state: WorkflowStateType, config: LangGraphRunnableConfig): Promise<WorkflowUpdate> {
  emitPhase(config, "sync_point_manager");
  const settings = settingsOf(state);
  const syncPoint = Object.keys(state.syncPoints)[0];
  if (!syncPoint) throw new Error("sync_point_manager: task_analyzer wrote no sync point");
  const { action, status } = decideSync(state, syncPoint, settings.maxRetries);

  const timeline: WorkflowUpdate["executionTimeline"] = [
    {
      at: status.at,
      event: "synchronization_checkpoint",
      node: "sync_point_manager",
      syncPoint,
      progress: status.progress,
      status: status.status,
      action,
    },
  ];
  // Only a decided sync point is worth a human's time: not every intermediate wave.
  if (settings.review === "always" && action !== "continue_waiting") {
    const decision = requestReview(syncReview(state, status, action), state.revisionCount);
    const rejected = decision.action === "reject";
    return {
      synchronizationStatus: status,
      nextCoordinationAction: rejected ? "rejected" : action,
      reviewDecisions: [decision],
      ...(rejected ? { status: "rejected" as const, failureReason: `rejected by ${decision.reviewer} at sync_point_manager` } : {}),
      executionTimeline: [
        ...timeline,
        { event: "review_decision", node: "sync_point_manager", ...decision },
      ],
    };
  }
  return { synchronizationStatus: status, nextCoordinationAction: action, executionTimeline: timeline };
}

const SYNC_ROUTES: readonly CoordinationAction[] = [
  "proceed_to_merge",
  "conditional_proceed",
  "continue_waiting",
  "timeout_recovery",
  "recovery_exhausted",
  "rejected",
] satisfies SyncRoute[];
const isSyncRoute = (action: CoordinationAction): action is SyncRoute => SYNC_ROUTES.includes(action);

/** The route sync_point_manager decided: one of its path map's keys. */
export function routeAfterSynchronization(state: WorkflowStateType): SyncRoute {
  const action = state.nextCoordinationAction;
  return action && isSyncRoute(action) ? action : "continue_waiting";
}
