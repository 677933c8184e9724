import type { StateSnapshot } from "@langchain/langgraph";
import type pg from "pg";
import { threadsNewestFirst } from "../checkpoints/threads.js";
import { REVIEW_POINTS, type ReviewDecision, type ReviewPoint } from "../state/shared/review.js";
import { reviewableState, type ReviewEdit } from "../state/parallel_workflow/review_edit.js";
import { BRANCH_NODES, type SynchronizationStatus, type WorkflowStateType } from "../state/parallel_workflow/workflow.js";
import { existingSnapshot, outcomeIn, threadConfig, type RunStatus, type Workflow } from "./runner.js";

/** Read-only views of threads, straight from the checkpointer. */

export interface ThreadRow {
  threadId: string;
  status: RunStatus;
  task: string;
  createdAt: string;
  updatedAt: string;
  /** The review point the thread waits at, if it does. */
  reviewPoint: string | null;
}

const taskOf = (values: Partial<WorkflowStateType>) =>
  values.task ?? values.taskQueue?.map((t) => t.description).join("; ") ?? "";

/**
 * Threads newest first. The thread ids and times come from one query over the saver's
 * table; the status needs each thread's latest state, so it is read only for the
 * threads that can still make the page.
 */
export async function listThreads(
  workflow: Workflow,
  pool: pg.Pool,
  schema: string,
  options: { status?: RunStatus; limit: number },
): Promise<ThreadRow[]> {
  const threads: ThreadRow[] = [];
  for (const { threadId, createdAt, updatedAt } of await threadsNewestFirst(pool, schema)) {
    if (threads.length >= options.limit) break;
    const snapshot = await workflow.getState(threadConfig(threadId));
    const outcome = outcomeIn(threadId, snapshot);
    if (options.status && outcome.status !== options.status) continue;
    threads.push({
      threadId,
      status: outcome.status,
      task: taskOf(snapshot.values as Partial<WorkflowStateType>),
      createdAt,
      updatedAt,
      reviewPoint: outcome.review?.point ?? null,
    });
  }
  return threads;
}

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
  const edits = (v.executionTimeline ?? [])
    .filter((e) => e.event === "state_edited")
    .map((e): ReviewStateEdit => ({ point: e.node as ReviewPoint, action: "edit", reviewer: String(e.reviewer), at: e.at, fields: e.fields as string[] }));
  return [...(v.reviewDecisions ?? []), ...edits].sort((a, b) => a.at.localeCompare(b.at));
}

/** What `show` prints: the thread's latest state, summarised. */
export async function summarizeThread(workflow: Workflow, threadId: string): Promise<ThreadSummary> {
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
    sync: (outcome.review?.point === "sync_point_manager"
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

export interface HistoryEntry {
  checkpointId: string;
  parentId: string | null;
  step: number;
  source: string;
  createdAt: string;
  /** The nodes whose writes this checkpoint saved. */
  nodes: string[];
  /** The branches whose results this checkpoint saved. */
  branches: string[];
  /** What runs from here. */
  next: string[];
  /** False for checkpoints a replay forked away from: they stay, but the thread's head no longer descends from them. */
  onHeadBranch: boolean;
  /**
   * Why this checkpoint is a good one to replay from: "review", a review point runs next (a
   * replay asks again, under the replay's review mode); "wave", a wave of branches runs next.
   */
  replayPoint: "review" | "wave" | null;
}

/** Every checkpoint of a thread, oldest first, with what wrote it. */
export async function threadHistory(workflow: Workflow, threadId: string): Promise<HistoryEntry[]> {
  await existingSnapshot(workflow, threadId);
  const snapshots: StateSnapshot[] = [];
  for await (const snapshot of workflow.getStateHistory(threadConfig(threadId))) snapshots.push(snapshot);
  const byId = new Map(snapshots.map((s) => [idOf(s.config)!, s]));
  const head = new Set<string>();
  for (let s: StateSnapshot | undefined = snapshots[0]; s; s = byId.get(idOf(s.parentConfig) ?? "")) head.add(idOf(s.config)!);

  return snapshots.reverse().map((snapshot) => {
    const id = idOf(snapshot.config)!;
    const parentId = idOf(snapshot.parentConfig) ?? null;
    const parent = parentId ? byId.get(parentId) : undefined;
    const source = String(snapshot.metadata?.source ?? "");
    // A loop step saves what all its parent's tasks wrote (one that paused for review wrote once
    // resumed); an update, a fork or the input wrote it themselves.
    const ran = source === "loop" && parent ? parent.tasks : [];
    const branches = ran
      .filter((t) => isBranchNode(t.name))
      .flatMap((t) => Object.keys((t.result as Partial<WorkflowStateType> | undefined)?.completedBranches ?? {}));
    return {
      checkpointId: id,
      parentId,
      step: Number(snapshot.metadata?.step ?? 0),
      source,
      createdAt: snapshot.createdAt ?? "",
      nodes: [...new Set(ran.map((t) => t.name))],
      branches,
      next: [...snapshot.next],
      onHeadBranch: head.has(id),
      replayPoint: replayPointOf(snapshot.next),
    };
  });
}

export const isBranchNode = (name: string) => (BRANCH_NODES as readonly string[]).includes(name);

function replayPointOf(next: readonly string[]): HistoryEntry["replayPoint"] {
  if (next.some((n) => (REVIEW_POINTS as readonly string[]).includes(n))) return "review";
  if (next.some(isBranchNode)) return "wave";
  return null;
}

const idOf = (config: { configurable?: Record<string, unknown> } | undefined) =>
  config?.configurable?.checkpoint_id as string | undefined;
