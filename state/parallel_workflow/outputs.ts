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

// The merge and the judge are shared steps: their outputs are described with them.
export {
  MERGE_SYNTHESIS,
  MergeSynthesisSchema,
  QUALITY_JUDGEMENT,
  QUALITY_RUBRIC,
  QualityJudgementSchema,
} from "../shared/merge.js";
export type { MergeSynthesis, QualityJudgement } from "../shared/merge.js";
