import { requestReview, type ReviewDecision, type ReviewRequest } from "../../state/shared/review.js";
import type { BranchOutcome, SynchronizationStatus } from "../../state/shared/merge.js";
import { now } from "../../state/shared/time.js";
import type { SharedStepEventOf, SyncAction } from "../../state/shared/timeline.js";

export type { SyncAction } from "../../state/shared/timeline.js";

export const CONDITIONAL_PROCEED_AT = 0.75;

/** A sync point's branches as the sync rule reads them. */
export interface SyncInput {
  syncPoint: string;
  /** The branch ids the sync point waits for. */
  required: readonly string[];
  /** Each branch's result for its current attempt; absent while it has none. */
  results: Readonly<Record<string, Pick<BranchOutcome, "status"> | undefined>>;
  /** Branches planned but not yet dispatched. */
  pending: readonly string[];
  retryCounts: Readonly<Record<string, number>>;
  maxRetries: number;
}

/**
 * The sync rule over the sync point's required branches that succeeded in their current
 * attempt: docs/design.md (Sync), with why pending waves come before conditional_proceed.
 */
export function decideSyncAction(input: SyncInput): { action: SyncAction; status: SynchronizationStatus } {
  const { required, syncPoint } = input;
  const completed = required.filter((id) => input.results[id]?.status === "success");
  const failed = required.filter((id) => input.results[id]?.status === "failed");
  const pending = input.pending.filter((id) => required.includes(id));
  const progress = required.length ? completed.length / required.length : 0;
  const retryable = failed.filter((id) => (input.retryCounts[id] ?? 0) < input.maxRetries);

  let action: SyncAction;
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
function syncReview(
  required: readonly string[],
  results: Readonly<Record<string, BranchOutcome | undefined>>,
  sync: SynchronizationStatus,
  action: SyncAction,
): ReviewRequest {
  return {
    point: "sync_point_manager",
    question: `Sync point ${sync.syncPoint}: ${Math.round(sync.progress * 100)}% of branches succeeded; next: ${action}. Approve?`,
    options: ["approve", "reject", "feedback"],
    details: {
      proposedAction: action,
      synchronization: sync,
      branches: required.map((id) => {
        const result = results[id];
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

export interface Synchronisation {
  synchronizationStatus: SynchronizationStatus;
  nextCoordinationAction: SyncAction | "rejected";
  reviewDecisions?: ReviewDecision[];
  /** Set when the reviewer rejected the run. */
  rejection?: { status: "rejected"; failureReason: string };
  executionTimeline: SharedStepEventOf<"synchronization_checkpoint" | "review_decision">[];
}

/**
 * The sync_point_manager step: decides the sync point and, under review "always", pauses for a
 * human on a decided one (never on an intermediate wave). The caller writes the result to its state.
 */
export function synchronise(
  input: SyncInput & {
    results: Readonly<Record<string, BranchOutcome | undefined>>;
    review: "always" | "never";
    revision: number;
  },
): Synchronisation {
  const { action, status } = decideSyncAction(input);
  const timeline: Synchronisation["executionTimeline"] = [
    {
      at: status.at,
      event: "synchronization_checkpoint",
      node: "sync_point_manager",
      syncPoint: input.syncPoint,
      progress: status.progress,
      status: status.status,
      action,
    },
  ];
  if (input.review === "always" && action !== "continue_waiting") {
    const decision = requestReview(syncReview(input.required, input.results, status, action), input.revision);
    const rejected = decision.action === "reject";
    return {
      synchronizationStatus: status,
      nextCoordinationAction: rejected ? "rejected" : action,
      reviewDecisions: [decision],
      ...(rejected
        ? {
            rejection: {
              status: "rejected" as const,
              failureReason: `rejected by ${decision.reviewer} at sync_point_manager`,
            },
          }
        : {}),
      executionTimeline: [...timeline, { event: "review_decision", node: "sync_point_manager", ...decision }],
    };
  }
  return { synchronizationStatus: status, nextCoordinationAction: action, executionTimeline: timeline };
}
