import { Annotation, MessagesAnnotation } from "@langchain/langgraph";
import type { Task } from "./input.js";
import type { Settings } from "./configuration.js";
import type { ResearchFocus } from "./outputs.js";
import type { QualityRoute } from "../shared/merge.js";
export type {
  IntegrationResult,
  MergePerformance,
  QualityReport,
  QualityRoute,
  Synthesis,
  SynchronizationStatus,
} from "../shared/merge.js";
import type { BranchFindings } from "../shared/findings.js";
import type { ReviewPoint } from "../shared/review.js";
import type { SharedStepEvent } from "../shared/timeline.js";
export type { ReviewRequest, SyncReviewBranch } from "../shared/review.js";
import type { SourcesSettings } from "../shared/sources.js";
import { append, mergeById, replace, sharedStepChannels, type RunStatus } from "../shared/channels.js";

import { branchRowFor, type BranchNodeName } from "./branches.js";

export { BRANCH_NODES, type BranchNodeName } from "./branches.js";

export type WorkflowMode = "parallel" | "sequential" | "adaptive";
export type WorkflowStatus = RunStatus;

export interface BranchResources {
  /** Share of the machine's CPU headroom this branch may count on. */
  cpuShare: number;
  timeoutMs: number;
  /** How many findings the branch is asked for; a reduced scope asks for fewer. */
  maxFindings: number;
}

export interface BranchAllocation {
  branchId: string;
  /** Position in the plan: waves and sequential mode dispatch in this order. */
  order: number;
  type: "research" | "analysis";
  objective: string;
  focus?: ResearchFocus;
  analysisType?: string;
  priority: "high" | "normal";
  dataSources: string[];
  resources: BranchResources;
  /** Bumped by load_balancer to re-queue the branch; a result counts only for the current attempt. */
  attempt: number;
  /** Set when load_balancer reassigns the work to another branch node. */
  assignedNode?: BranchNodeName;
  scope: "full" | "reduced";
  /** Delay the branch waits before its model call: the retry backoff. */
  backoffMs: number;
  /** The validator's or the reviewer's feedback a revision must address. */
  feedback?: string;
  /** The number of the task in the queue the branch works on, when the plan names one. */
  task?: number;
}

export interface BranchPerformance {
  /** Seconds. */
  executionTime: number;
  /** CPU time the process spent over the branch's wall time, 0..1 per core. */
  resourceUtilization: number;
  dataQualityScore: number;
  /** Findings per second. */
  throughput: number;
  /** Tool calls the branch made reading its sources; absent when it had none. */
  toolCalls?: number;
}

export interface BranchResult {
  branchId: string;
  node: BranchNodeName;
  type: "research" | "analysis";
  focus?: ResearchFocus;
  analysisType?: string;
  priority: "high" | "normal";
  attempt: number;
  status: "success" | "failed";
  results?: BranchFindings;
  error?: string;
  timedOut?: boolean;
  performance: BranchPerformance;
  modelCalls: number;
  completedAt: string;
}

/** One timeline event per kind the nodes write, keyed by `event`; `node` is the node that wrote it. */
export type TimelineEvent =
  | {
      at: string;
      event: "task_analysis_completed";
      node: "task_analyzer";
      workflowMode: WorkflowMode;
      branchesAllocated: number;
      branchesPlanned: number;
      complexityScore: number;
      interdependencyScore: number;
      cpuHeadroom: number;
    }
  | {
      at: string;
      event: "wave_dispatched";
      node: "parallel_coordinator";
      wave: number;
      branches: { branchId: string; node: BranchNodeName; attempt: number; priorResults: number }[];
    }
  | {
      at: string;
      event: "branch_completed";
      node: BranchNodeName;
      branchId: string;
      attempt: number;
      seconds: number;
      dataQualityScore: number;
    }
  | {
      at: string;
      event: "branch_failed";
      node: BranchNodeName;
      branchId: string;
      attempt: number;
      seconds: number;
      error: string;
    }
  | { at: string; event: "state_edited"; node: ReviewPoint; reviewer: string; fields: string[] }
  | {
      at: string;
      event: "branch_requeued";
      node: "load_balancer";
      branchId: string;
      reason: string;
      strategy: RecoveryStrategy;
      retry: number;
      backoffMs: number;
      toNode: BranchNodeName;
    }
  | {
      at: string;
      event: "revision_requested";
      node: "load_balancer";
      revision: number;
      branches: string[];
      feedback: string;
    }
  | SharedStepEvent;

export type TimelineEventKind = TimelineEvent["event"];
export type TimelineEventOf<K extends TimelineEventKind> = Extract<TimelineEvent, { event: K }>;

/** The timeline's events of one kind, in order, typed as that kind. */
export function eventsOf<K extends TimelineEventKind>(
  timeline: readonly TimelineEvent[],
  kind: K,
): TimelineEventOf<K>[] {
  return timeline.filter((e): e is TimelineEventOf<K> => e.event === kind);
}

/** How load_balancer recovers a failed branch: docs/design.md (Recovery). */
export type RecoveryStrategy = "retry" | "reassign" | "reduced_scope";

/** Where sync_point_manager sends the run: the keys of its path map. */
export type SyncRoute =
  | "proceed_to_merge"
  | "conditional_proceed"
  | "continue_waiting"
  | "timeout_recovery"
  | "recovery_exhausted"
  | "rejected";

/** Where quality_validator sends the run: the keys of its path map. */
export type ValidationRoute = QualityRoute | "rejected";

export type CoordinationAction = SyncRoute | ValidationRoute;

/** The research workflow's state: every channel its nodes read and write. */
export const WorkflowState = Annotation.Root({
  ...MessagesAnnotation.spec,

  /** Input: a single task as text; task_analyzer turns it into the task queue. */
  task: Annotation<string | undefined>({ reducer: replace, default: () => undefined }),
  taskQueue: Annotation<Task[]>({ reducer: replace, default: () => [] }),
  activeBranches: Annotation<Record<string, BranchAllocation>>({ reducer: mergeById, default: () => ({}) }),
  /**
   * A plain reducer channel, stored whole at each step it changes, not a DeltaChannel
   * (docs/decisions/0017-plain-reducer-channels.md). A branch's performance lives
   * on its result only (docs/design.md says why).
   */
  completedBranches: Annotation<Record<string, BranchResult>>({ reducer: mergeById, default: () => ({}) }),

  syncPoints: Annotation<Record<string, string[]>>({ reducer: replace, default: () => ({}) }),
  branchDependencies: Annotation<Record<string, string[]>>({ reducer: replace, default: () => ({}) }),
  /** Append-only: a node returns only its new events. A plain channel too (the same record). */
  executionTimeline: Annotation<TimelineEvent[], TimelineEvent | TimelineEvent[]>({
    reducer: append,
    default: () => [],
  }),

  workflowMode: Annotation<WorkflowMode | undefined>({ reducer: replace, default: () => undefined }),
  /** The most branches one wave dispatches: task_analyzer's allocation (sequential mode dispatches one). */
  waveWidth: Annotation<number>({ reducer: replace, default: () => 1 }),
  /** Waves dispatched so far: parallel_coordinator numbers each wave by it. */
  wavesDispatched: Annotation<number>({ reducer: replace, default: () => 0 }),
  /** Reported figures only (the API's state view shows them); the graph never routes on them. */
  loadBalancingMetrics: Annotation<Record<string, number>>({
    reducer: (current, update) => ({ ...current, ...update }),
    default: () => ({}),
  }),

  workflowId: Annotation<string>({ reducer: replace, default: () => "" }),
  /** Reported only: the wave counter as the API's state view shows it. */
  checkpointData: Annotation<Record<string, unknown>>({
    reducer: (current, update) => ({ ...current, ...update }),
    default: () => ({}),
  }),
  monitoringMetrics: Annotation<Record<string, unknown>>({
    reducer: (current, update) => ({ ...current, ...update }),
    default: () => ({}),
  }),

  /** The settings the thread started with: a resume from any process continues under them. */
  settings: Annotation<Settings | undefined>({ reducer: replace, default: () => undefined }),
  nextCoordinationAction: Annotation<CoordinationAction | undefined>({ reducer: replace, default: () => undefined }),
  retryCounts: Annotation<Record<string, number>>({ reducer: mergeById, default: () => ({}) }),
  revisionCount: Annotation<number>({ reducer: replace, default: () => 0 }),
  /** The shared steps' records: sync, merge, gate, reviews, report, status (state/shared/channels.ts). */
  ...sharedStepChannels,
});

export type WorkflowStateType = typeof WorkflowState.State;
export type WorkflowUpdate = typeof WorkflowState.Update;

/** What parallel_coordinator sends each branch node. */
export interface BranchInput {
  branchId: string;
  /** The thread's model, so a branch never depends on the config of the process that resumes it. */
  model: string;
  allocation: BranchAllocation;
  /**
   * The branch's own task when the plan names one, else the whole queue. Every Send is
   * stored with the step's writes: the whole queue in each would grow the fan-out's
   * checkpoint writes, and each branch's prompt, with queue length × branches.
   */
  taskQueue: Task[];
  /** Sequential mode: the results of the branches before this one. */
  priorResults: { branchId: string; summary: string }[];
  /** The sources the branch reads through a tool loop; absent when the run has none. */
  sources?: SourcesSettings;
}

/** The Send mapping: the branch node a branch's work goes to (branches.ts), unless reassigned. */
export function branchNodeFor(allocation: BranchAllocation): BranchNodeName {
  return allocation.assignedNode ?? branchRowFor(allocation).node;
}

/** A branch's result for its current attempt, if it has one. */
export function currentResult(
  state: Pick<WorkflowStateType, "activeBranches" | "completedBranches">,
  branchId: string,
) {
  const result = state.completedBranches[branchId];
  const allocation = state.activeBranches[branchId];
  return result && allocation && result.attempt === allocation.attempt ? result : undefined;
}

/** The settings the thread runs under: frozen into state by task_analyzer. */
export function settingsOf(state: Pick<WorkflowStateType, "settings">): Settings {
  if (!state.settings) throw new Error("settings are missing from state: task_analyzer has not run");
  return state.settings;
}
