import { z } from "zod";

/**
 * The findings a research or agent step returns: one structured output shared by the
 * workflows whose steps research, so the offline model answers it the same way for each.
 */

export const FindingScoreSchema = z.number().min(0).max(1);
const score = FindingScoreSchema;

export const FindingSchema = z.object({
  claim: z.string(),
  evidence: z.array(z.string()).describe("Concrete facts or observations that support the claim"),
  confidence: score,
});
export type Finding = z.infer<typeof FindingSchema>;

export const BranchFindingsSchema = z.object({
  summary: z.string(),
  findings: z.array(FindingSchema).min(1),
  confidence: score.describe("Confidence in the findings as a whole"),
});
export type BranchFindings = z.infer<typeof BranchFindingsSchema>;
export const BRANCH_FINDINGS = "branch_findings";
