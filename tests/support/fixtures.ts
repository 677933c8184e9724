/**
 * Builders for the unit tests: plain objects shaped like the workflow's state, so the
 * rules can be exercised without a model, a database or a graph run.
 */
import { SettingsSchema, type Settings } from "../../state/parallel_workflow/configuration.js";
import type { BranchFindings } from "../../state/shared/findings.js";
import type {
  BranchAllocation,
  BranchResult,
  IntegrationResult,
  Synthesis,
  WorkflowStateType,
  WorkflowUpdate,
} from "../../state/parallel_workflow/workflow.js";

export const SETTINGS: Settings = SettingsSchema.parse({ model: "offline", review: "never" });

/** A merged synthesis of the given findings and evidence, its figures fixed. */
export const synthesis = (
  primary: Synthesis["primaryFindings"],
  evidence: Synthesis["supportingEvidence"],
): Synthesis => ({
  status: "merged",
  summary: "",
  primaryFindings: primary,
  supportingEvidence: evidence,
  sourceAttribution: {},
  qualityScore: 0.8,
  sourcesCount: 1,
  totalWeight: 1,
});

export function allocation(
  branchId: string,
  order: number,
  overrides: Partial<BranchAllocation> = {},
): BranchAllocation {
  return {
    branchId,
    order,
    type: "research",
    objective: `objective of ${branchId}`,
    focus: "technical",
    priority: "normal",
    dataSources: [],
    resources: { cpuShare: 0.2, timeoutMs: 120_000, maxFindings: 4 },
    attempt: 1,
    scope: "full",
    backoffMs: 0,
    ...overrides,
  };
}

export const FINDINGS: BranchFindings = {
  summary: "a summary",
  findings: [{ claim: "a claim", evidence: ["fact one", "fact two"], confidence: 0.8 }],
  confidence: 0.8,
};

export function result(branchId: string, overrides: Partial<BranchResult> = {}): BranchResult {
  const status = overrides.status ?? "success";
  return {
    branchId,
    node: "research_branch_alpha",
    type: "research",
    focus: "technical",
    priority: "normal",
    attempt: 1,
    status,
    ...(status === "success" ? { results: { ...FINDINGS, summary: `summary of ${branchId}` } } : { error: "boom" }),
    performance: { executionTime: 1, resourceUtilization: 0.1, dataQualityScore: 0.8, throughput: 1 },
    modelCalls: 1,
    completedAt: "2025-01-01T00:00:00.000Z",
    ...overrides,
  };
}

/** A result with the given quality and seconds, the two numbers the merge weighs. */
export function scored(branchId: string, quality: number, seconds: number, overrides: Partial<BranchResult> = {}) {
  return result(branchId, {
    performance: { executionTime: seconds, resourceUtilization: 0.1, dataQualityScore: quality, throughput: 1 },
    ...overrides,
  });
}

export const byId = <T extends { branchId: string }>(...items: T[]): Record<string, T> =>
  Object.fromEntries(items.map((item) => [item.branchId, item]));

export function noData(kind: string): Synthesis {
  return {
    status: "no_data",
    summary: `No ${kind} branch succeeded.`,
    primaryFindings: [],
    supportingEvidence: [],
    sourceAttribution: {},
    qualityScore: 0,
    sourcesCount: 0,
    totalWeight: 0,
  };
}

export function integration(overrides: Partial<IntegrationResult["integrationMetadata"]> = {}): IntegrationResult {
  return {
    researchSynthesis: noData("research"),
    analysisSynthesis: noData("analysis"),
    integrationMetadata: {
      successfulBranches: 0,
      failedBranches: [],
      missingBranches: [],
      overallQualityScore: 0,
      integratedAt: "2025-01-01T00:00:00.000Z",
      ...overrides,
    },
  };
}

/** A complete state with every field at its default, then the overrides. */
export function makeState(overrides: Partial<WorkflowStateType> = {}): WorkflowStateType {
  return {
    messages: [],
    task: undefined,
    taskQueue: [{ description: "Evaluate a vector database for our search product" }],
    activeBranches: {},
    completedBranches: {},
    syncPoints: {},
    branchDependencies: {},
    executionTimeline: [],
    workflowMode: "parallel",
    waveWidth: 1,
    wavesDispatched: 0,
    loadBalancingMetrics: {},
    workflowId: "wf-test",
    checkpointData: {},
    monitoringMetrics: {},
    settings: SETTINGS,
    synchronizationStatus: undefined,
    nextCoordinationAction: undefined,
    integrationResult: undefined,
    mergePerformance: undefined,
    qualityReport: undefined,
    finalReport: undefined,
    retryCounts: {},
    revisionCount: 0,
    reviewDecisions: [],
    status: "running",
    failureReason: undefined,
    ...overrides,
  };
}

/** A node's update read as plain values: the nodes never return LangGraph's Overwrite wrappers. */
export async function plain(update: Promise<WorkflowUpdate> | WorkflowUpdate): Promise<Partial<WorkflowStateType>> {
  return (await update) as Partial<WorkflowStateType>;
}

/** The branches the offline model plans for a single task, each with the node it is sent to. */
export const BRANCH_NODE_OF = {
  "b1-research-technical": "research_branch_alpha",
  "b2-research-market": "research_branch_beta",
  "b3-research-competitive": "research_branch_gamma",
  "b4-analysis-high": "analysis_branch_primary",
  "b5-analysis-normal": "analysis_branch_secondary",
} as const;
