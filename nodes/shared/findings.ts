import type { BranchFindings } from "../../state/shared/findings.js";

/**
 * A step's data quality: confident findings, each backed by evidence (docs/design.md, Branches).
 * A finding is backed by two pieces of evidence, or by one passage of a source it quotes: a
 * grounded quote is evidence found in what was read, not the model's word.
 */
export function dataQualityScore(findings: BranchFindings): number {
  const items = findings.findings;
  if (items.length === 0) return 0;
  const meanConfidence = items.reduce((sum, f) => sum + f.confidence, 0) / items.length;
  const evidenced = items.filter((f) => f.evidence.length >= 2 || (f.citations?.length ?? 0) > 0).length / items.length;
  return round(0.5 * meanConfidence + 0.3 * evidenced + 0.2 * findings.confidence);
}

/** Three decimals: the precision figures are stored and shown at. */
export const round = (x: number) => Math.round(x * 1000) / 1000;
