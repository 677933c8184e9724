import { z } from "zod";

/**
 * The findings a research or agent step returns: one structured output shared by the
 * workflows whose steps research, so the offline model answers it the same way for each.
 */

export const FindingScoreSchema = z.number().min(0).max(1);
const score = FindingScoreSchema;

/** Where a claim comes from: one passage a source returned, and the verbatim span of it the claim rests on. */
export const CitationSchema = z.object({
  sourceId: z.string(),
  title: z.string(),
  location: z.string(),
  quote: z.string().describe("A verbatim span of the passage the claim rests on"),
});
export type Citation = z.infer<typeof CitationSchema>;

export const FindingSchema = z.object({
  claim: z.string(),
  evidence: z.array(z.string()).describe("Concrete facts or observations that support the claim"),
  confidence: score,
  /** Set when the finding was built from sources: an agent that read nothing cites nothing. */
  citations: z.array(CitationSchema).optional(),
});
export type Finding = z.infer<typeof FindingSchema>;

export const BranchFindingsSchema = z.object({
  summary: z.string(),
  findings: z.array(FindingSchema).min(1),
  confidence: score.describe("Confidence in the findings as a whole"),
});
export type BranchFindings = z.infer<typeof BranchFindingsSchema>;
export const BRANCH_FINDINGS = "branch_findings";
