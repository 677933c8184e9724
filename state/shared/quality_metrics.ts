/** The merged result's quality figures: per kind, how good and how sure, and how much the whole can be trusted. */
export interface IntegrationQualityMetrics {
  researchQuality: number;
  analysisQuality: number;
  /** Share of planned branches that succeeded × the weighted quality, halved when a kind has no result. */
  integrationConfidence: number;
  /** 95 % intervals of each kind's weighted quality; null for a kind with no result. */
  confidenceIntervals: { research: QualityInterval | null; analysis: QualityInterval | null };
}

export interface QualityInterval {
  low: number;
  high: number;
  /** The sources it rests on: one source gives an interval of no width, not certainty. */
  sources: number;
}

interface Weighted {
  quality: number;
  weight: number;
}

const Z_95 = 1.96;
const clamp = (x: number) => Math.min(1, Math.max(0, x));
const round = (x: number) => Math.round(x * 1000) / 1000;

/**
 * The weighted mean's 95 % interval: the weighted variance of the sources' qualities over the
 * effective number of sources ((Σw)² / Σw²), so a heavy source counts for more than a light one.
 */
export function qualityInterval(sources: readonly Weighted[]): QualityInterval | null {
  const total = sources.reduce((sum, s) => sum + s.weight, 0);
  if (!sources.length || total === 0) return null;
  const mean = sources.reduce((sum, s) => sum + s.quality * s.weight, 0) / total;
  const variance = sources.reduce((sum, s) => sum + s.weight * (s.quality - mean) ** 2, 0) / total;
  const effective = total ** 2 / sources.reduce((sum, s) => sum + s.weight ** 2, 0);
  const margin = effective > 1 ? Z_95 * Math.sqrt(variance / (effective - 1)) : 0;
  return { low: round(clamp(mean - margin)), high: round(clamp(mean + margin)), sources: sources.length };
}

const weightedMean = (sources: readonly Weighted[]) => {
  const total = sources.reduce((sum, s) => sum + s.weight, 0);
  return total === 0 ? 0 : sources.reduce((sum, s) => sum + s.quality * s.weight, 0) / total;
};

export function integrationQualityMetrics(
  research: readonly Weighted[],
  analysis: readonly Weighted[],
  plannedBranches: number,
): IntegrationQualityMetrics {
  const all = [...research, ...analysis];
  const succeededShare = plannedBranches ? all.length / plannedBranches : 0;
  const bothKinds = research.length > 0 && analysis.length > 0 ? 1 : 0.5;
  return {
    researchQuality: round(weightedMean(research)),
    analysisQuality: round(weightedMean(analysis)),
    integrationConfidence: round(clamp(succeededShare * weightedMean(all) * bothKinds)),
    confidenceIntervals: { research: qualityInterval(research), analysis: qualityInterval(analysis) },
  };
}
