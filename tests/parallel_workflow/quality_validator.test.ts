import { beforeEach, describe, expect, it, vi } from "vitest";

// The validator's judge is a model call; a scripted stand-in returns a fixed judgement
// so the score and the route are the validator's own arithmetic.
const judge = vi.hoisted(() => ({
  calls: 0,
  judgement: { coverage: 0.9, evidence: 0.8, consistency: 0.7, actionability: 0.6, issues: ["Name the vendors."] },
}));
vi.mock("../../models/index.js", () => ({
  parseModelSpec: () => ({ provider: "offline" }),
  defaultModelSpec: () => "offline",
  createChatModel: () => ({
    withStructuredOutput: () => ({
      invoke: async () => {
        judge.calls += 1;
        return judge.judgement;
      },
    }),
  }),
}));

import {
  judgeScore,
  qualityScore,
  qualityValidator,
  routeQuality,
  routeQualityValidation,
} from "../../nodes/parallel_workflow/quality_validator.js";
import type { ReviewDecision } from "../../state/shared/review.js";
import type { QualityReport, WorkflowStateType } from "../../state/parallel_workflow/workflow.js";
import { integration, makeState, SETTINGS, plain } from "../support/fixtures.js";

beforeEach(() => {
  judge.calls = 0;
});

describe("judgeScore and qualityScore", () => {
  it("averages the four rubric scores", () => {
    // (0.9 + 0.8 + 0.7 + 0.6) / 4 = 3.0 / 4 = 0.75
    expect(judgeScore({ coverage: 0.9, evidence: 0.8, consistency: 0.7, actionability: 0.6, issues: [] })).toBeCloseTo(
      0.75,
      12,
    );
    expect(judgeScore({ coverage: 1, evidence: 0, consistency: 0, actionability: 0, issues: ["x"] })).toBeCloseTo(
      0.25,
      12,
    );
  });

  it("weighs the judge 0.5, the merge quality 0.3 and the success rate 0.2", () => {
    // 0.5*0.75 + 0.3*0.8 + 0.2*1 = 0.375 + 0.24 + 0.2 = 0.815
    expect(qualityScore(0.75, 0.8, 1)).toBeCloseTo(0.815, 12);
    // 0.5*0.6 + 0.3*0.7 + 0.2*0.6 = 0.3 + 0.21 + 0.12 = 0.63
    expect(qualityScore(0.6, 0.7, 0.6)).toBeCloseTo(0.63, 12);
    expect(qualityScore(1, 1, 1)).toBeCloseTo(1, 12);
    expect(qualityScore(0, 0, 0)).toBe(0);
  });
});

describe("routeQuality: the validator's routes", () => {
  const route = (input: Partial<Parameters<typeof routeQuality>[0]>) =>
    routeQuality({ score: 0.9, threshold: 0.8, successfulBranches: 5, revisionsLeft: 2, feedback: false, ...input });

  it("a score at the threshold is approved", () => {
    expect(route({ score: 0.8 }).route).toBe("quality_approved");
    expect(route({ score: 0.95, revisionsLeft: 0 }).route).toBe("quality_approved");
  });

  it("below the threshold with revisions left → needs_revision", () => {
    const { route: r, reason } = route({ score: 0.799, revisionsLeft: 1 });
    expect(r).toBe("needs_revision");
    expect(reason).toBe("score 0.799 < threshold 0.8");
  });

  it("below the threshold with no revision left → critical_failure", () => {
    const { route: r, reason } = route({ score: 0.799, revisionsLeft: 0 });
    expect(r).toBe("critical_failure");
    expect(reason).toMatch(/after the last revision/);
  });

  it("zero successful branches → critical_failure, whatever the score", () => {
    expect(route({ successfulBranches: 0, score: 1, revisionsLeft: 2 })).toEqual({
      route: "critical_failure",
      reason: "no branch succeeded",
    });
    expect(route({ successfulBranches: 0, feedback: true }).route).toBe("critical_failure");
  });

  it("reviewer feedback with revisions left → needs_revision even above the threshold", () => {
    expect(route({ score: 0.99, feedback: true, revisionsLeft: 1 })).toEqual({
      route: "needs_revision",
      reason: "the reviewer asked for changes",
    });
  });

  it("reviewer feedback with no revision left falls back to the score", () => {
    expect(route({ score: 0.99, feedback: true, revisionsLeft: 0 }).route).toBe("quality_approved");
    expect(route({ score: 0.5, feedback: true, revisionsLeft: 0 }).route).toBe("critical_failure");
  });

  it("honours a custom threshold", () => {
    expect(route({ score: 0.6, threshold: 0.6 }).route).toBe("quality_approved");
    expect(route({ score: 0.85, threshold: 0.9 }).route).toBe("needs_revision");
  });
});

describe("routeQualityValidation", () => {
  const report = (route: QualityReport["route"]): QualityReport => ({
    score: 0.9,
    threshold: 0.8,
    mergeQuality: 0.9,
    successRate: 1,
    route,
    reason: "",
    revision: 0,
    at: "2025-01-01T00:00:00.000Z",
  });

  it("returns rejected when the run was rejected, whatever the report says", () => {
    expect(routeQualityValidation(makeState({ status: "rejected", qualityReport: report("quality_approved") }))).toBe(
      "rejected",
    );
    expect(routeQualityValidation(makeState({ status: "rejected" }))).toBe("rejected");
  });

  it("otherwise follows the quality report's route", () => {
    expect(routeQualityValidation(makeState({ qualityReport: report("quality_approved") }))).toBe("quality_approved");
    expect(routeQualityValidation(makeState({ qualityReport: report("needs_revision") }))).toBe("needs_revision");
  });

  it("without a quality report it is a critical failure", () => {
    expect(routeQualityValidation(makeState())).toBe("critical_failure");
  });
});

describe("qualityValidator without review", () => {
  function validated(overrides: Partial<WorkflowStateType> = {}) {
    return makeState({
      settings: { ...SETTINGS, review: "never", qualityThreshold: 0.8, maxRevisions: 2 },
      integrationResult: integration({ successfulBranches: 5, overallQualityScore: 0.8 }),
      mergePerformance: {
        mergedAt: "2025-01-01T00:00:00.000Z",
        branchesProcessed: 5,
        successRate: 1,
        qualityDistribution: { min: 0.8, max: 0.8, mean: 0.8 },
      },
      ...overrides,
    });
  }

  it("scores with the judge and the merge metrics, and approves at 0.815", async () => {
    const update = await plain(qualityValidator(validated(), {}));
    expect(judge.calls).toBe(1);
    // judge 0.75, merge 0.8, success 1 → 0.815 ≥ 0.8
    expect(update.qualityReport!.score).toBeCloseTo(0.815, 12);
    expect(update.qualityReport).toMatchObject({
      judgeScore: expect.closeTo(0.75, 12),
      mergeQuality: 0.8,
      successRate: 1,
      route: "quality_approved",
      revision: 0,
    });
    expect(update.nextCoordinationAction).toBe("quality_approved");
    expect(update.status).toBeUndefined();
  });

  it("asks for a revision below the threshold while revisions are left", async () => {
    // success rate 0.6: 0.375 + 0.24 + 0.12 = 0.735 < 0.8
    const state = validated();
    state.mergePerformance = { ...state.mergePerformance!, successRate: 0.6 };
    const update = await plain(qualityValidator(state, {}));
    expect(update.qualityReport!.score).toBeCloseTo(0.735, 12);
    expect(update.nextCoordinationAction).toBe("needs_revision");
  });

  it("fails the run below the threshold once maxRevisions is used up", async () => {
    const state = validated({ revisionCount: 2 });
    state.mergePerformance = { ...state.mergePerformance!, successRate: 0.6 };
    const update = await plain(qualityValidator(state, {}));
    expect(update.nextCoordinationAction).toBe("critical_failure");
    expect(update.status).toBe("failed");
    expect(update.failureReason).toMatch(/after the last revision/);
  });

  it("routes to revision when a reviewer sent feedback in this round, even above the threshold", async () => {
    const feedback: ReviewDecision = {
      point: "sync_point_manager",
      action: "feedback",
      feedback: "add pricing",
      reviewer: "ada",
      at: "2025-01-01T00:00:00.000Z",
      revision: 1,
    };
    const update = await plain(qualityValidator(validated({ revisionCount: 1, reviewDecisions: [feedback] }), {}));
    expect(update.nextCoordinationAction).toBe("needs_revision");
    // feedback from an earlier round no longer counts, though revisions are still left (3 - 2 = 1)
    const later = await plain(
      qualityValidator(
        validated({
          revisionCount: 2,
          reviewDecisions: [feedback],
          settings: { ...SETTINGS, review: "never", maxRevisions: 3 },
        }),
        {},
      ),
    );
    expect(later.nextCoordinationAction).toBe("quality_approved");
  });

  it("with no successful branch fails without asking the judge", async () => {
    const update = await plain(
      qualityValidator(validated({ integrationResult: integration({ successfulBranches: 0 }) }), {}),
    );
    expect(judge.calls).toBe(0);
    expect(update.nextCoordinationAction).toBe("critical_failure");
    expect(update.status).toBe("failed");
    expect(update.failureReason).toBe("no branch succeeded");
  });
});
