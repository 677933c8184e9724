import { z } from "zod";
import { FindingScoreSchema as score, type BranchFindings, type Citation } from "./findings.js";
import type { IntegrationQualityMetrics } from "./quality_metrics.js";

/**
 * The shared steps' records: synchronisation, the quality-weighted merge, the quality gate
 * and the final report read and write these, whichever workflow's branches or agents fed them.
 */

/** One step's outcome as the shared steps read it: a research workflow branch or a dynamic agent. */
export interface BranchOutcome {
  branchId: string;
  /** What ran it: the branch node or the agent's template. */
  node: string;
  /** Which synthesis it feeds. */
  type: "research" | "analysis";
  status: "success" | "failed";
  results?: BranchFindings;
  error?: string;
  performance: { executionTime: number; dataQualityScore: number };
}

export const MergeSynthesisSchema = z.object({
  summary: z.string(),
  primaryFindings: z.array(
    z.object({ statement: z.string(), sources: z.array(z.string()).describe("Branch ids the statement rests on") }),
  ),
  supportingEvidence: z.array(z.object({ evidence: z.string(), source: z.string().describe("Branch id") })),
});
export type MergeSynthesis = z.infer<typeof MergeSynthesisSchema>;
export const MERGE_SYNTHESIS = "merge_synthesis";

/** The rubric the judge scores against; each criterion is scored 0..1. */
export const QUALITY_RUBRIC = {
  coverage: "Every task in the queue is addressed by at least one primary finding.",
  evidence: "Primary findings are backed by concrete supporting evidence from named branches.",
  consistency: "Findings from different branches do not contradict each other.",
  actionability: "The result tells the reader what to do or decide next.",
} as const;

export const RUBRIC_KEYS = Object.keys(QUALITY_RUBRIC) as (keyof typeof QUALITY_RUBRIC)[];

export const QualityJudgementSchema = z.object({
  coverage: score,
  evidence: score,
  consistency: score,
  actionability: score,
  issues: z.array(z.string()).describe("What keeps the result from a perfect score"),
});
export type QualityJudgement = z.infer<typeof QualityJudgementSchema>;
export const QUALITY_JUDGEMENT = "quality_judgement";

/** What the sync rule decides: where the run goes after a sync point. */
export type SyncAction =
  | "proceed_to_merge"
  | "conditional_proceed"
  | "continue_waiting"
  | "timeout_recovery"
  | "recovery_exhausted";

export interface SynchronizationStatus {
  syncPoint: string;
  progress: number;
  completedBranches: string[];
  remainingBranches: string[];
  failedBranches: string[];
  pendingBranches: string[];
  status: "completed" | "waiting_final" | "waiting" | "recovering" | "exhausted";
  at: string;
}

export interface Synthesis {
  status: "merged" | "no_data";
  summary: string;
  /** `citations`: the passages a statement rests on, one per source, when its branches read sources. */
  primaryFindings: (MergeSynthesis["primaryFindings"][number] & { citations?: Citation[] })[];
  supportingEvidence: (MergeSynthesis["supportingEvidence"][number] & { citations?: Citation[] })[];
  /** Each source's share of the total weight. */
  sourceAttribution: Record<string, number>;
  qualityScore: number;
  sourcesCount: number;
  totalWeight: number;
}

export interface IntegrationResult {
  researchSynthesis: Synthesis;
  analysisSynthesis: Synthesis;
  integrationMetadata: {
    successfulBranches: number;
    failedBranches: string[];
    missingBranches: string[];
    overallQualityScore: number;
    integratedAt: string;
  };
  /** Absent on results merged before these figures existed. */
  qualityMetrics?: IntegrationQualityMetrics;
  /**
   * Set when branches read sources: of the findings built from them, how many kept a citation
   * whose quote was found in what the branch read. The judge's evidence score is this share.
   */
  grounding?: { grounded: number; findings: number };
}

export interface MergePerformance {
  mergedAt: string;
  branchesProcessed: number;
  successRate: number;
  qualityDistribution: { min: number; max: number; mean: number };
}

export type QualityRoute = "quality_approved" | "needs_revision" | "critical_failure";

export interface QualityReport {
  score: number;
  threshold: number;
  judge?: QualityJudgement;
  judgeScore?: number;
  mergeQuality: number;
  successRate: number;
  route: QualityRoute;
  reason: string;
  revision: number;
  at: string;
}
