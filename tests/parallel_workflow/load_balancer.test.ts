import { describe, expect, it } from "vitest";
import {
  RETRY_BACKOFF_BASE_MS,
  loadBalancer,
  planRecovery,
  recoveryStrategy,
  revisionFeedback,
  weakestBranches,
} from "../../nodes/parallel_workflow/load_balancer.js";
import { planWave } from "../../nodes/parallel_workflow/parallel_coordinator.js";
import {
  BRANCH_NODES,
  branchNodeFor,
  type BranchAllocation,
  type BranchNodeName,
  type QualityReport,
  type WorkflowStateType,
} from "../../state/parallel_workflow/workflow.js";
import type { ReviewDecision } from "../../state/shared/review.js";
import { allocation, byId, makeState, result, scored, SETTINGS, plain } from "../support/fixtures.js";

const failed = (id: string, attempt = 1) => result(id, { status: "failed", attempt, error: `${id} broke` });

describe("recoveryStrategy", () => {
  it("retries first, then reassigns, then reduces the scope", () => {
    expect([1, 2, 3, 4, 7].map(recoveryStrategy)).toEqual([
      "retry",
      "reassign",
      "reduced_scope",
      "reduced_scope",
      "reduced_scope",
    ]);
  });
});

describe("planRecovery: the retry bound", () => {
  it("re-queues only failed branches under maxRetries, bumping their attempt", () => {
    const state = {
      activeBranches: byId(allocation("ok", 0), allocation("bad", 1), allocation("pending", 2), allocation("spent", 3)),
      completedBranches: byId(result("ok"), failed("bad"), failed("spent")),
      retryCounts: { spent: 2 },
    };
    const { requeued, retryCounts, events } = planRecovery(state, 2);
    expect(Object.keys(requeued)).toEqual(["bad"]);
    expect(requeued.bad).toEqual({ ...state.activeBranches.bad, attempt: 2, backoffMs: RETRY_BACKOFF_BASE_MS });
    expect(retryCounts).toEqual({ bad: 1 });
    expect(events).toEqual([
      expect.objectContaining({
        event: "branch_requeued",
        node: "load_balancer",
        branchId: "bad",
        reason: "bad broke",
        strategy: "retry",
        retry: 1,
        backoffMs: 250,
        toNode: "research_branch_alpha",
      }),
    ]);
  });

  it("walks retry → reassign → reduced_scope, doubling the backoff: 250, 500, 1000 ms", () => {
    let active: BranchAllocation = allocation("b", 0, { focus: "technical" });
    let retryCounts: Record<string, number> = {};
    const seen: { attempt: number; backoffMs: number; node: BranchNodeName; scope: string; maxFindings: number }[] = [];
    for (let round = 1; round <= 3; round++) {
      const state = {
        activeBranches: { b: active },
        completedBranches: { b: failed("b", active.attempt) },
        retryCounts,
      };
      const plan = planRecovery(state, 3);
      active = plan.requeued.b!;
      retryCounts = { ...retryCounts, ...plan.retryCounts };
      seen.push({
        attempt: active.attempt,
        backoffMs: active.backoffMs,
        node: branchNodeFor(active),
        scope: active.scope,
        maxFindings: active.resources.maxFindings,
      });
    }
    expect(seen).toEqual([
      { attempt: 2, backoffMs: 250, node: "research_branch_alpha", scope: "full", maxFindings: 4 },
      { attempt: 3, backoffMs: 500, node: "research_branch_beta", scope: "full", maxFindings: 4 },
      // the reassignment sticks; the scope narrows
      { attempt: 4, backoffMs: 1000, node: "research_branch_beta", scope: "reduced", maxFindings: 2 },
    ]);
    expect(retryCounts).toEqual({ b: 3 });
  });

  it("reassigns each branch node's work to a different node of the same kind", () => {
    const kinds: Record<BranchNodeName, Partial<BranchAllocation>> = {
      research_branch_alpha: { type: "research", focus: "technical" },
      research_branch_beta: { type: "research", focus: "market" },
      research_branch_gamma: { type: "research", focus: "competitive" },
      analysis_branch_primary: { type: "analysis", focus: undefined, priority: "high" },
      analysis_branch_secondary: { type: "analysis", focus: undefined, priority: "normal" },
    };
    for (const node of BRANCH_NODES) {
      const original = allocation("b", 0, kinds[node]);
      expect(branchNodeFor(original)).toBe(node);
      const { requeued } = planRecovery(
        { activeBranches: { b: original }, completedBranches: { b: failed("b") }, retryCounts: { b: 1 } },
        2,
      );
      const moved = branchNodeFor(requeued.b!);
      expect(moved).not.toBe(node);
      expect(moved.split("_")[0]).toBe(node.split("_")[0]);
    }
  });

  it("re-queues nothing at the bound", () => {
    const state = {
      activeBranches: byId(allocation("a", 0, { attempt: 3 }), allocation("b", 1, { attempt: 3 })),
      completedBranches: byId(failed("a", 3), failed("b", 3)),
      retryCounts: { a: 2, b: 2 },
    };
    expect(planRecovery(state, 2)).toEqual({ requeued: {}, retryCounts: {}, events: [] });
  });

  it("re-queues nothing when maxRetries is 0", () => {
    const state = { activeBranches: byId(allocation("a", 0)), completedBranches: byId(failed("a")), retryCounts: {} };
    expect(planRecovery(state, 0).requeued).toEqual({});
  });

  it("does not re-queue a branch twice: a failure of an earlier attempt is already handled", () => {
    const state = {
      activeBranches: byId(allocation("a", 0, { attempt: 2 })),
      completedBranches: byId(failed("a", 1)),
      retryCounts: { a: 1 },
    };
    expect(planRecovery(state, 2).requeued).toEqual({});
  });

  it("a re-queued branch is what the coordinator dispatches next", () => {
    const state = makeState({
      activeBranches: byId(allocation("a", 0), allocation("b", 1)),
      completedBranches: byId(result("a"), failed("b")),
      waveWidth: 5,
    });
    const { requeued } = planRecovery(state, 2);
    const wave = planWave({ ...state, activeBranches: { ...state.activeBranches, ...requeued } });
    expect(wave.map((a) => [a.branchId, a.attempt])).toEqual([["b", 2]]);
  });
});

describe("weakestBranches", () => {
  const state = (results: ReturnType<typeof scored>[]) => ({
    activeBranches: byId(...results.map((r, i) => allocation(r.branchId, i))),
    completedBranches: byId(...results),
  });

  it("returns the successful branches below the threshold, weakest first", () => {
    const s = state([
      scored("a", 0.9, 1),
      scored("b", 0.5, 1),
      scored("c", 0.7, 1),
      scored("d", 0.1, 1, { status: "failed" }),
    ]);
    expect(weakestBranches(s, 0.8)).toEqual(["b", "c"]);
  });

  it("returns only the weakest when every branch clears the threshold", () => {
    const s = state([scored("a", 0.95, 1), scored("b", 0.85, 1), scored("c", 0.9, 1)]);
    expect(weakestBranches(s, 0.8)).toEqual(["b"]);
  });

  it("ignores results of earlier attempts", () => {
    const s = state([scored("a", 0.95, 1), scored("b", 0.2, 1)]);
    s.activeBranches.b = { ...s.activeBranches.b!, attempt: 2 };
    expect(weakestBranches(s, 0.8)).toEqual(["a"]);
  });
});

describe("revisionFeedback", () => {
  const decision = (revision: number, feedback: string): ReviewDecision => ({
    point: "quality_validator",
    action: "feedback",
    feedback,
    reviewer: "ada",
    at: "2025-01-01T00:00:00.000Z",
    revision,
  });
  const report = (issues: string[] | undefined, reason = "score 0.600 < threshold 0.8"): QualityReport => ({
    score: 0.6,
    threshold: 0.8,
    ...(issues
      ? { judge: { coverage: 0.5, evidence: 0.5, consistency: 0.5, actionability: 0.5, issues }, judgeScore: 0.5 }
      : {}),
    mergeQuality: 0.7,
    successRate: 1,
    route: "needs_revision",
    reason,
    revision: 1,
    at: "2025-01-01T00:00:00.000Z",
  });

  it("carries the reviewer's words from this revision round", () => {
    const state = {
      revisionCount: 1,
      reviewDecisions: [decision(0, "old words"), decision(1, "cite sources."), decision(1, "add costs.")],
      qualityReport: report(["thin evidence"]),
    };
    expect(revisionFeedback(state)).toBe("cite sources. add costs.");
  });

  it("falls back to the judge's issues, then the validator's reason", () => {
    expect(
      revisionFeedback({
        revisionCount: 1,
        reviewDecisions: [decision(0, "old words")],
        qualityReport: report(["a.", "b."]),
      }),
    ).toBe("a. b.");
    expect(
      revisionFeedback({ revisionCount: 0, reviewDecisions: [], qualityReport: report(undefined, "too weak") }),
    ).toBe("too weak");
    expect(revisionFeedback({ revisionCount: 0, reviewDecisions: [], qualityReport: undefined })).toMatch(/quality/i);
  });
});

describe("loadBalancer", () => {
  it("after needs_revision re-queues the weakest branches with the feedback and increments revisionCount", async () => {
    const state = makeState({
      nextCoordinationAction: "needs_revision",
      revisionCount: 1,
      activeBranches: byId(allocation("a", 0), allocation("b", 1, { attempt: 2, backoffMs: 250 }), allocation("c", 2)),
      completedBranches: byId(scored("a", 0.9, 1), scored("b", 0.6, 1, { attempt: 2 }), scored("c", 0.85, 1)),
      qualityReport: {
        score: 0.7,
        threshold: 0.8,
        judge: { coverage: 0.6, evidence: 0.6, consistency: 0.9, actionability: 0.7, issues: ["Name the vendors."] },
        judgeScore: 0.7,
        mergeQuality: 0.78,
        successRate: 1,
        route: "needs_revision",
        reason: "score 0.700 < threshold 0.8",
        revision: 1,
        at: "2025-01-01T00:00:00.000Z",
      },
    });
    const update = await plain(loadBalancer(state, {}));
    expect(update.revisionCount).toBe(2);
    expect(update.activeBranches).toEqual({
      b: { ...state.activeBranches.b, attempt: 3, backoffMs: 0, feedback: "Name the vendors." },
    });
    expect(update.loadBalancingMetrics).toEqual({ revisionsIssued: 2 });
    expect(update.executionTimeline).toEqual([
      expect.objectContaining({
        event: "revision_requested",
        node: "load_balancer",
        revision: 2,
        branches: ["b"],
        feedback: "Name the vendors.",
      }),
    ]);
    expect(update.retryCounts).toBeUndefined();
  });

  it("after timeout_recovery re-queues failed branches under maxRetries and counts every retry issued", async () => {
    const state = makeState({
      nextCoordinationAction: "timeout_recovery",
      settings: { ...SETTINGS, maxRetries: 2 },
      activeBranches: byId(allocation("a", 0), allocation("b", 1), allocation("c", 2, { attempt: 3 })),
      completedBranches: byId(result("a"), failed("b"), failed("c", 3)),
      retryCounts: { c: 2 },
    });
    const update = await plain(loadBalancer(state, {}));
    expect(Object.keys(update.activeBranches!)).toEqual(["b"]);
    expect(update.activeBranches!.b!.attempt).toBe(2);
    expect(update.retryCounts).toEqual({ b: 1 });
    // c: 2 earlier + b: 1 now = 3
    expect(update.loadBalancingMetrics).toEqual({ retriesIssued: 3 });
    expect(update.revisionCount).toBeUndefined();
    expect(update.executionTimeline).toHaveLength(1);
  });

  it("re-queues nothing once every failed branch is at maxRetries", async () => {
    const state: WorkflowStateType = makeState({
      nextCoordinationAction: "timeout_recovery",
      settings: { ...SETTINGS, maxRetries: 1 },
      activeBranches: byId(allocation("a", 0, { attempt: 2 })),
      completedBranches: byId(failed("a", 2)),
      retryCounts: { a: 1 },
    });
    const update = await plain(loadBalancer(state, {}));
    expect(update.activeBranches).toEqual({});
    expect(update.executionTimeline).toEqual([]);
  });
});
