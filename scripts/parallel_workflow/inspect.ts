import type { ReviewDecision, ReviewPoint } from "../../state/shared/review.js";
import { reviewableState, type ReviewEdit } from "../../state/parallel_workflow/review_edit.js";
import {
  eventsOf,
  type SynchronizationStatus,
  type WorkflowStateType,
} from "../../state/parallel_workflow/workflow.js";
import { existingSnapshot } from "../thread_state.js";
import type { RunStatus } from "../workflow_cli.js";
import { outcomeIn, type Workflow } from "./runner.js";

/** A research thread's latest state summarised, as `show` prints it. */

const taskOf = (values: Partial<WorkflowStateType>) =>
  values.task ?? values.taskQueue?.map((t) => t.description).join("; ") ?? "";

export interface ThreadSummary {
  threadId: string;
  status: RunStatus;
  reviewPoint: string | null;
  updatedAt: string;
  task: string;
  mode: string | null;
  settings: WorkflowStateType["settings"] | null;
  revision: number;
  branches: {
    branchId: string;
    node: string | null;
    type: string;
    status: "success" | "failed" | "pending";
    attempt: number;
    quality: number | null;
    seconds: number | null;
    error: string | null;
  }[];
  sync: WorkflowStateType["synchronizationStatus"] | null;
  quality: WorkflowStateType["qualityReport"] | null;
  /** Decisions and edits at the review points, oldest first. */
  reviews: ReviewEntry[];
  timeline: WorkflowStateType["executionTimeline"];
  report: string | null;
  failureReason: string | null;
  /** At a review point: the document `resume --edit` takes, as it stands. */
  reviewable: ReviewEdit | null;
}

/** A reviewer's edit of the state at a review point, beside the decisions. */
export interface ReviewStateEdit {
  point: ReviewPoint;
  action: "edit";
  reviewer: string;
  at: string;
  /** What the edit changed: branch ids, or the merged syntheses. */
  fields: string[];
}
export type ReviewEntry = ReviewDecision | ReviewStateEdit;

/** Edits are recorded on the timeline only: merged with the decisions, by time. */
function reviewsOf(v: Partial<WorkflowStateType>): ReviewEntry[] {
  const edits = eventsOf(v.executionTimeline ?? [], "state_edited").map(
    (e): ReviewStateEdit => ({ point: e.node, action: "edit", reviewer: e.reviewer, at: e.at, fields: e.fields }),
  );
  return [...(v.reviewDecisions ?? []), ...edits].sort((a, b) => a.at.localeCompare(b.at));
}

/** What `show` prints: the thread's latest state, summarised. */
export async function summariseThread(workflow: Workflow, threadId: string): Promise<ThreadSummary> {
  const snapshot = await existingSnapshot(workflow, threadId);
  const outcome = outcomeIn(threadId, snapshot);
  const v = snapshot.values as Partial<WorkflowStateType>;
  const branches = Object.values(v.activeBranches ?? {})
    .sort((a, b) => a.order - b.order)
    .map((allocation) => {
      const result = v.completedBranches?.[allocation.branchId];
      const current = result && result.attempt === allocation.attempt ? result : undefined;
      return {
        branchId: allocation.branchId,
        node: current?.node ?? allocation.assignedNode ?? null,
        type: allocation.type,
        status: current?.status ?? ("pending" as const),
        attempt: allocation.attempt,
        quality: current?.performance.dataQualityScore ?? null,
        seconds: current?.performance.executionTime ?? null,
        error: current?.error ?? null,
      };
    });
  return {
    threadId,
    status: outcome.status,
    reviewPoint: outcome.review?.point ?? null,
    updatedAt: snapshot.createdAt!,
    task: taskOf(v),
    mode: v.workflowMode ?? null,
    settings: v.settings ?? null,
    revision: v.revisionCount ?? 0,
    branches,
    // Paused at the sync point, the node has not written its decision yet: the request carries it.
    sync:
      (outcome.review?.point === "sync_point_manager"
        ? (outcome.review.details as { synchronization: SynchronizationStatus }).synchronization
        : v.synchronizationStatus) ?? null,
    quality: v.qualityReport ?? null,
    reviews: reviewsOf(v),
    timeline: v.executionTimeline ?? [],
    report: v.finalReport ?? null,
    failureReason: v.failureReason ?? null,
    reviewable: outcome.review ? reviewableState(outcome.review.point, v as WorkflowStateType) : null,
  };
}
