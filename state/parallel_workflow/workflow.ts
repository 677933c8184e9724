import { Annotation, MessagesAnnotation } from "@langchain/langgraph";
import type { Task } from "./input.js";
import type { Settings } from "./configuration.js";
import type { ResearchFocus } from "./outputs.js";
import type { IntegrationResult, MergePerformance, QualityReport, QualityRoute, SynchronizationStatus } from "../shared/merge.js";
export type { IntegrationResult, MergePerformance, QualityReport, QualityRoute, Synthesis, SynchronizationStatus } from "../shared/merge.js";
import type { BranchFindings } from "../shared/findings.js";
import type { ReviewDecision } from "../shared/review.js";
import type { SourcesSettings } from "../shared/sources.js";

export const BRANCH_NODES = [
  "research_branch_alpha",
  "research_branch_beta",
  "research_branch_gamma",
  "analysis_branch_primary",
  "analysis_branch_secondary",
] as const;
export type BranchNodeName = (typeof BRANCH_NODES)[number];

export type WorkflowMode = "parallel" | "sequential" | "adaptive";
export type WorkflowStatus = "running" | "completed" | "failed" | "rejected";

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

export interface TimelineEvent {
  at: string;
  event: string;
  node: string;
  [detail: string]: unknown;
}

export type CoordinationAction =
  | "proceed_to_merge"
  | "conditional_proceed"
  | "continue_waiting"
  | "timeout_recovery"
  | "recovery_exhausted"
  | QualityRoute
  | "rejected";

const mergeById = <T>(current: Record<string, T>, update: Record<string, T>): Record<string, T> => ({
  ...current,
  ...update,
});
const append = <T>(current: T[], update: T | T[]): T[] => current.concat(update);
const replace = <T>(_: T, update: T): T => update;

/** The research workflow's state: every channel its nodes read and write. */
export const WorkflowState = Annotation.Root({
  ...MessagesAnnotation.spec,

  /** Input: a single task as text; task_analyzer turns it into the task queue. */
  task: Annotation<string | undefined>({ reducer: replace, default: () => undefined }),
  taskQueue: Annotation<Task[]>({ reducer: replace, default: () => [] }),
  activeBranches: Annotation<Record<string, BranchAllocation>>({ reducer: mergeById, default: () => ({}) }),
  /**
   * A plain reducer channel, stored whole at each step it changes (every wave). LangGraph's
   * DeltaChannel would store only each step's writes, but it rebuilds the value on every read
   * by fetching each ancestor checkpoint: `orchestra history` of a 106-step thread took 75 s
   * (a read per checkpoint per checkpoint), and every resume and `show` paid the same walk.
   * Waves as wide as maxConcurrency keep the number of rewrites small; bench/ measures it.
   *
   * A branch's performance lives on its result only (docs/design.md says why).
   */
  completedBranches: Annotation<Record<string, BranchResult>>({ reducer: mergeById, default: () => ({}) }),

  syncPoints: Annotation<Record<string, string[]>>({ reducer: replace, default: () => ({}) }),
  branchDependencies: Annotation<Record<string, string[]>>({ reducer: replace, default: () => ({}) }),
  /**
   * Append-only: a node returns only its new events. Not a DeltaChannel either (see
   * completedBranches): it also replays one step's writes in task-id order, which differs from
   * run to run, so a thread read back or resumed would list a step's events in another order.
   */
  executionTimeline: Annotation<TimelineEvent[], TimelineEvent | TimelineEvent[]>({ reducer: append, default: () => [] }),

  workflowMode: Annotation<WorkflowMode | undefined>({ reducer: replace, default: () => undefined }),
  loadBalancingMetrics: Annotation<Record<string, number>>({
    reducer: (current, update) => ({ ...current, ...update }),
    default: () => ({}),
  }),

  workflowId: Annotation<string>({ reducer: replace, default: () => "" }),
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
  synchronizationStatus: Annotation<SynchronizationStatus | undefined>({ reducer: replace, default: () => undefined }),
  nextCoordinationAction: Annotation<CoordinationAction | undefined>({ reducer: replace, default: () => undefined }),
  integrationResult: Annotation<IntegrationResult | undefined>({ reducer: replace, default: () => undefined }),
  mergePerformance: Annotation<MergePerformance | undefined>({ reducer: replace, default: () => undefined }),
  qualityReport: Annotation<QualityReport | undefined>({ reducer: replace, default: () => undefined }),
  finalReport: Annotation<string | undefined>({ reducer: replace, default: () => undefined }),
  retryCounts: Annotation<Record<string, number>>({ reducer: mergeById, default: () => ({}) }),
  revisionCount: Annotation<number>({ reducer: replace, default: () => 0 }),
  reviewDecisions: Annotation<ReviewDecision[], ReviewDecision | ReviewDecision[]>({
    reducer: append,
    default: () => [],
  }),
  status: Annotation<WorkflowStatus>({ reducer: replace, default: () => "running" }),
  failureReason: Annotation<string | undefined>({ reducer: replace, default: () => undefined }),
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

/** The branch node a branch's work goes to: by type and focus or priority, unless reassigned. */
export function branchNodeFor(allocation: BranchAllocation): BranchNodeName {
  if (allocation.assignedNode) return allocation.assignedNode;
  if (allocation.type === "research") {
    if (allocation.focus === "technical") return "research_branch_alpha";
    if (allocation.focus === "market") return "research_branch_beta";
    return "research_branch_gamma";
  }
  return allocation.priority === "high" ? "analysis_branch_primary" : "analysis_branch_secondary";
}

/** A branch's result for its current attempt, if it has one. */
export function currentResult(state: Pick<WorkflowStateType, "activeBranches" | "completedBranches">, branchId: string) {
  const result = state.completedBranches[branchId];
  const allocation = state.activeBranches[branchId];
  return result && allocation && result.attempt === allocation.attempt ? result : undefined;
}

/** The settings the thread runs under: frozen into state by task_analyzer. */
export function settingsOf(state: Pick<WorkflowStateType, "settings">): Settings {
  if (!state.settings) throw new Error("settings are missing from state: task_analyzer has not run");
  return state.settings;
}
