import { z } from "zod";
import { FindingScoreSchema as score } from "../shared/findings.js";

/**
 * The structured outputs the chat model returns. Each schema's `name` is the tool
 * name the model sees, so the offline model can answer every one of them.
 */

export const RESEARCH_FOCUSES = ["technical", "market", "competitive"] as const;
export type ResearchFocus = (typeof RESEARCH_FOCUSES)[number];
export const ANALYSIS_PRIORITIES = ["high", "normal"] as const;
export type AnalysisPriority = (typeof ANALYSIS_PRIORITIES)[number];

export const PlannedBranchSchema = z.object({
  type: z.enum(["research", "analysis"]),
  objective: z.string().describe("What this branch must find out, in one sentence"),
  focus: z.enum(RESEARCH_FOCUSES).optional().describe("Research branches only"),
  analysisType: z.string().optional().describe("Analysis branches only, e.g. 'risk', 'cost-benefit', 'trend'"),
  priority: z.enum(ANALYSIS_PRIORITIES).optional().describe("Analysis branches only"),
  dataSources: z.array(z.string()).optional().describe("Analysis branches only: where the data comes from"),
  task: z.number().int().min(1).optional().describe("The number of the task in the queue this branch works on"),
});
export type PlannedBranch = z.infer<typeof PlannedBranchSchema>;

export const TaskAnalysisSchema = z.object({
  complexityScore: score.describe("0 = trivial, 1 = very complex"),
  interdependencyScore: score.describe("0 = subtasks independent, 1 = each step needs the one before"),
  rationale: z.string(),
  branchPlan: z.array(PlannedBranchSchema).min(1),
});
export type TaskAnalysis = z.infer<typeof TaskAnalysisSchema>;
export const TASK_ANALYSIS = "task_analysis";


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

export const QualityJudgementSchema = z.object({
  coverage: score,
  evidence: score,
  consistency: score,
  actionability: score,
  issues: z.array(z.string()).describe("What keeps the result from a perfect score"),
});
export type QualityJudgement = z.infer<typeof QualityJudgementSchema>;
export const QUALITY_JUDGEMENT = "quality_judgement";
