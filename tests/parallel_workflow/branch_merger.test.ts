import { beforeEach, describe, expect, it, vi } from "vitest";
import type { BaseMessage } from "@langchain/core/messages";

// branchMerger asks the chat model for the prose synthesis; a scripted stand-in keeps
// these tests free of any model while the numbers under test stay the merger's own.
const calls = vi.hoisted(() => ({ prompts: [] as string[], names: [] as string[] }));
vi.mock("../../models/index.js", () => ({
  parseModelSpec: (spec: string) =>
    spec === "offline" ? { provider: "offline" } : { provider: "openai", name: spec.slice(7) },
  defaultModelSpec: () => "offline",
  createChatModel: () => ({
    withStructuredOutput: (_schema: unknown, options: { name: string }) => ({
      invoke: async (messages: BaseMessage[]) => {
        calls.names.push(options.name);
        calls.prompts.push(String(messages[messages.length - 1]!.content));
        return {
          summary: "merged summary",
          primaryFindings: [{ statement: "a finding", sources: ["r1", "ghost"] }],
          supportingEvidence: [
            { evidence: "real", source: "r1" },
            { evidence: "invented", source: "ghost" },
          ],
        };
      },
    }),
  }),
}));

import {
  attribute,
  branchMerger,
  branchWeight,
  overallQuality,
  weighResults,
} from "../../nodes/parallel_workflow/branch_merger.js";
import { MERGE_SYNTHESIS } from "../../state/parallel_workflow/outputs.js";
import { allocation, byId, makeState, noData, result, scored, plain } from "../support/fixtures.js";

beforeEach(() => {
  calls.prompts.length = 0;
  calls.names.length = 0;
});

describe("branchWeight: 0.7 × quality + 0.3 / (1 + seconds/60)", () => {
  it.each([
    // 0.7*0.9 + 0.3/(1+0.5) = 0.63 + 0.2 = 0.83
    [0.9, 30, 0.83],
    // 0.7*0.6 + 0.3/(1+1) = 0.42 + 0.15 = 0.57
    [0.6, 60, 0.57],
    // 0.7*0.5 + 0.3/1 = 0.35 + 0.3 = 0.65
    [0.5, 0, 0.65],
    // 0.7*1 + 0.3 = 1
    [1, 0, 1],
    // 0 + 0.3/(1+2) = 0.1
    [0, 120, 0.1],
    // 0.7*0.8 + 0.3/(1+9) = 0.56 + 0.03 = 0.59
    [0.8, 540, 0.59],
  ])("quality %f in %f s weighs %f", (quality, seconds, weight) => {
    expect(branchWeight(quality, seconds)).toBeCloseTo(weight, 12);
  });

  it("prefers the faster of two equally good branches", () => {
    expect(branchWeight(0.8, 10)).toBeGreaterThan(branchWeight(0.8, 20));
  });
});

describe("weighResults and attribute", () => {
  it("weighs each result by its data quality score and execution time", () => {
    const weighted = weighResults([scored("r1", 0.9, 30), scored("r2", 0.6, 60)]);
    expect(weighted.map((w) => [w.source, w.quality])).toEqual([
      ["r1", 0.9],
      ["r2", 0.6],
    ]);
    expect(weighted[0]!.weight).toBeCloseTo(0.83, 12);
    expect(weighted[1]!.weight).toBeCloseTo(0.57, 12);
  });

  it("normalises the weights into an attribution that sums to 1, and averages quality by weight", () => {
    const { sourceAttribution, qualityScore, totalWeight } = attribute(
      weighResults([scored("r1", 0.9, 30), scored("r2", 0.6, 60)]),
    );
    // total = 0.83 + 0.57 = 1.4
    expect(totalWeight).toBeCloseTo(1.4, 12);
    // 0.83 / 1.4 = 0.592857…, 0.57 / 1.4 = 0.407142…
    expect(sourceAttribution.r1).toBeCloseTo(0.5928571428571429, 12);
    expect(sourceAttribution.r2).toBeCloseTo(0.4071428571428571, 12);
    expect(sourceAttribution.r1! + sourceAttribution.r2!).toBeCloseTo(1, 12);
    // (0.9*0.83 + 0.6*0.57) / 1.4 = (0.747 + 0.342) / 1.4 = 1.089 / 1.4 = 0.777857… (the plain mean would be 0.75)
    expect(qualityScore).toBeCloseTo(0.7778571428571428, 12);
  });

  it("attributes three sources", () => {
    const { sourceAttribution, qualityScore, totalWeight } = attribute(
      weighResults([scored("r1", 0.9, 30), scored("r2", 0.6, 60), scored("r3", 0.5, 0)]),
    );
    // total = 0.83 + 0.57 + 0.65 = 2.05
    expect(totalWeight).toBeCloseTo(2.05, 12);
    expect(sourceAttribution.r1).toBeCloseTo(0.83 / 2.05, 12); // 0.404878…
    expect(sourceAttribution.r2).toBeCloseTo(0.57 / 2.05, 12); // 0.278048…
    expect(sourceAttribution.r3).toBeCloseTo(0.65 / 2.05, 12); // 0.317073…
    expect(Object.values(sourceAttribution).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    // (0.747 + 0.342 + 0.325) / 2.05 = 1.414 / 2.05 = 0.689756…
    expect(qualityScore).toBeCloseTo(0.6897560975609756, 12);
  });

  it("a single source gets all the attribution and its own quality", () => {
    const { sourceAttribution, qualityScore } = attribute(weighResults([scored("only", 0.42, 12)]));
    expect(sourceAttribution).toEqual({ only: 1 });
    expect(qualityScore).toBeCloseTo(0.42, 12);
  });

  it("nothing to weigh gives no attribution and quality 0", () => {
    expect(attribute([])).toEqual({ sourceAttribution: {}, qualityScore: 0, totalWeight: 0 });
  });
});

describe("overallQuality", () => {
  const merged = (qualityScore: number, totalWeight: number) => ({
    ...noData("x"),
    status: "merged" as const,
    qualityScore,
    totalWeight,
  });

  it("weighs research and analysis by the total weight behind each", () => {
    // (0.8*1.5 + 0.4*0.5) / 2 = (1.2 + 0.2) / 2 = 0.7 (the plain mean would be 0.6)
    expect(overallQuality(merged(0.8, 1.5), merged(0.4, 0.5))).toBeCloseTo(0.7, 12);
  });

  it("a side with no data does not drag the other down", () => {
    expect(overallQuality(merged(0.8, 1.5), noData("analysis"))).toBeCloseTo(0.8, 12);
    expect(overallQuality(noData("research"), merged(0.6, 0.9))).toBeCloseTo(0.6, 12);
  });

  it("is 0 when nothing was merged", () => {
    expect(overallQuality(noData("research"), noData("analysis"))).toBe(0);
  });
});

describe("branchMerger", () => {
  function mergeState() {
    return makeState({
      activeBranches: byId(
        allocation("r1", 0),
        allocation("r2", 1, { focus: "market" }),
        allocation("a1", 2, { type: "analysis", focus: undefined, priority: "high" }),
        allocation("f1", 3),
        allocation("p1", 4),
        allocation("old", 5, { attempt: 2 }),
      ),
      completedBranches: byId(
        scored("r1", 0.9, 30),
        scored("r2", 0.6, 60, { node: "research_branch_beta" }),
        scored("a1", 0.5, 0, { type: "analysis", node: "analysis_branch_primary" }),
        result("f1", { status: "failed" }),
        // an earlier attempt's success: not counted, the branch is missing
        scored("old", 1, 0, { attempt: 1 }),
      ),
    });
  }

  it("merges research and analysis separately, with the documents' weights", async () => {
    const update = await plain(branchMerger(mergeState(), {}));
    const integration = update.integrationResult!;
    expect(integration.researchSynthesis.status).toBe("merged");
    expect(integration.researchSynthesis.sourcesCount).toBe(2);
    expect(integration.researchSynthesis.totalWeight).toBeCloseTo(1.4, 12);
    expect(integration.researchSynthesis.qualityScore).toBeCloseTo(0.7778571428571428, 12);
    expect(integration.researchSynthesis.sourceAttribution.r1).toBeCloseTo(0.5928571428571429, 12);
    expect(integration.analysisSynthesis.sourceAttribution).toEqual({ a1: 1 });
    expect(integration.analysisSynthesis.qualityScore).toBeCloseTo(0.5, 12);
    // (0.7778571*1.4 + 0.5*0.65) / (1.4 + 0.65) = (1.089 + 0.325) / 2.05 = 0.689756…
    expect(integration.integrationMetadata.overallQualityScore).toBeCloseTo(0.6897560975609756, 12);
  });

  it("lists what succeeded, failed and is missing, and the success rate over the active branches", async () => {
    const update = await plain(branchMerger(mergeState(), {}));
    expect(update.integrationResult!.integrationMetadata).toMatchObject({
      successfulBranches: 3,
      failedBranches: ["f1"],
      missingBranches: ["f1", "p1", "old"],
    });
    // 3 succeeded / 6 active = 0.5 ; results for the current attempt: r1, r2, a1, f1
    expect(update.mergePerformance).toMatchObject({ branchesProcessed: 4, successRate: 0.5 });
    expect(update.mergePerformance!.qualityDistribution.min).toBe(0.5);
    expect(update.mergePerformance!.qualityDistribution.max).toBe(0.9);
    // (0.9 + 0.6 + 0.5) / 3 = 0.666…
    expect(update.mergePerformance!.qualityDistribution.mean).toBeCloseTo(2 / 3, 12);
    expect(update.executionTimeline).toEqual([
      expect.objectContaining({
        event: "intelligent_merge_completed",
        node: "branch_merger",
        successfulBranches: 3,
        failedBranches: 1,
      }),
    ]);
  });

  it("asks the model once per kind with data, heaviest source first, and drops invented sources", async () => {
    const update = await plain(branchMerger(mergeState(), {}));
    expect(calls.names).toEqual([MERGE_SYNTHESIS, MERGE_SYNTHESIS]);
    const research = calls.prompts.find((p) => p.includes("research results"))!;
    expect(research.indexOf("## r1 (weight 0.59,")).toBeGreaterThan(-1);
    expect(research.indexOf("## r1")).toBeLessThan(research.indexOf("## r2 (weight 0.41,"));
    const synthesis = update.integrationResult!.researchSynthesis;
    expect(synthesis.primaryFindings).toEqual([{ statement: "a finding", sources: ["r1"] }]);
    expect(synthesis.supportingEvidence).toEqual([{ evidence: "real", source: "r1" }]);
  });

  it("with no successful branch merges nothing, asks no model and scores 0", async () => {
    const state = makeState({
      activeBranches: byId(allocation("f1", 0), allocation("f2", 1)),
      completedBranches: byId(result("f1", { status: "failed" }), result("f2", { status: "failed" })),
    });
    const update = await plain(branchMerger(state, {}));
    expect(calls.names).toEqual([]);
    expect(update.integrationResult!.researchSynthesis.status).toBe("no_data");
    expect(update.integrationResult!.analysisSynthesis.status).toBe("no_data");
    expect(update.integrationResult!.integrationMetadata).toMatchObject({
      successfulBranches: 0,
      overallQualityScore: 0,
      failedBranches: ["f1", "f2"],
    });
    expect(update.mergePerformance).toMatchObject({ successRate: 0, qualityDistribution: { min: 0, max: 0, mean: 0 } });
  });
});
