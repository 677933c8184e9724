import { describe, expect, it } from "vitest";
import { integrationQualityMetrics, qualityInterval } from "../state/shared/quality_metrics.js";

describe("the merged result's quality metrics", () => {
  it("give each kind's weighted quality, an interval around it, and the confidence in the whole", () => {
    const research = [
      { quality: 0.9, weight: 1 },
      { quality: 0.8, weight: 1 },
      { quality: 0.7, weight: 1 },
    ];
    const analysis = [{ quality: 0.85, weight: 2 }];
    const metrics = integrationQualityMetrics(research, analysis, 5);
    expect(metrics.researchQuality).toBe(0.8);
    expect(metrics.analysisQuality).toBe(0.85);
    // 4 of 5 branches succeeded, weighted quality (0.9 + 0.8 + 0.7 + 2 × 0.85) / 5 = 0.82.
    expect(metrics.integrationConfidence).toBeCloseTo(0.8 * 0.82, 3);
    const interval = metrics.confidenceIntervals.research!;
    expect(interval.low).toBeLessThan(0.8);
    expect(interval.high).toBeGreaterThan(0.8);
    expect(interval.sources).toBe(3);
    expect(metrics.confidenceIntervals.analysis).toEqual({ low: 0.85, high: 0.85, sources: 1 });
  });

  it("halve the confidence when a kind has no result, and give it no interval", () => {
    const metrics = integrationQualityMetrics([{ quality: 0.9, weight: 1 }], [], 2);
    expect(metrics.integrationConfidence).toBeCloseTo(0.5 * 0.9 * 0.5, 3);
    expect(metrics.confidenceIntervals.analysis).toBeNull();
    expect(qualityInterval([])).toBeNull();
  });
});
