import { describe, expect, it } from "vitest";
import {
  CONDITIONAL_PROCEED_AT,
  decideSync,
  routeAfterSynchronization,
  syncPointManager,
} from "../../nodes/parallel_workflow/sync_point_manager.js";
import type { BranchAllocation, BranchResult } from "../../state/parallel_workflow/workflow.js";
import { allocation, byId, makeState, result, SETTINGS, plain } from "../support/fixtures.js";

const SP = "pre_merge";

/** A sync point over `n` branches b1..bn, with the given results and retry counts. */
function syncState(
  n: number,
  results: BranchResult[],
  retryCounts: Record<string, number> = {},
  active?: BranchAllocation[],
) {
  const allocations = active ?? Array.from({ length: n }, (_, i) => allocation(`b${i + 1}`, i));
  return {
    activeBranches: byId(...allocations),
    completedBranches: byId(...results),
    syncPoints: { [SP]: allocations.map((a) => a.branchId) },
    retryCounts,
  };
}
const ok = (id: string) => result(id);
const failed = (id: string) => result(id, { status: "failed" });

describe("decideSync: the documents' progress thresholds", () => {
  it("is 0.75 for conditional proceed", () => {
    expect(CONDITIONAL_PROCEED_AT).toBe(0.75);
  });

  it("all required branches succeeded → proceed_to_merge at 1.0", () => {
    const { action, status } = decideSync(syncState(5, ["b1", "b2", "b3", "b4", "b5"].map(ok)), SP, 2);
    expect(action).toBe("proceed_to_merge");
    expect(status).toMatchObject({
      syncPoint: SP,
      progress: 1,
      status: "completed",
      completedBranches: ["b1", "b2", "b3", "b4", "b5"],
      remainingBranches: [],
      failedBranches: [],
      pendingBranches: [],
    });
  });

  it("4 of 5 with nothing pending → conditional_proceed at 0.8, listing what is missing", () => {
    // 4 / 5 = 0.8 ≥ 0.75; b5 failed but could still be retried: the documents merge anyway
    const { action, status } = decideSync(syncState(5, [ok("b1"), ok("b2"), ok("b3"), ok("b4"), failed("b5")]), SP, 2);
    expect(action).toBe("conditional_proceed");
    expect(status.progress).toBe(0.8);
    expect(status.status).toBe("waiting_final");
    expect(status.remainingBranches).toEqual(["b5"]);
    expect(status.failedBranches).toEqual(["b5"]);
  });

  it("exactly 3 of 4 = 0.75 → conditional_proceed", () => {
    const { action, status } = decideSync(syncState(4, [ok("b1"), ok("b2"), ok("b3"), failed("b4")]), SP, 2);
    expect(status.progress).toBe(0.75);
    expect(action).toBe("conditional_proceed");
  });

  it("just below 0.75 (2 of 3 ≈ 0.667), nothing pending, retries left → timeout_recovery", () => {
    const { action, status } = decideSync(syncState(3, [ok("b1"), ok("b2"), failed("b3")]), SP, 2);
    expect(status.progress).toBeCloseTo(2 / 3, 10);
    expect(action).toBe("timeout_recovery");
    expect(status.status).toBe("recovering");
  });

  it("below 0.75 with branches still pending → continue_waiting", () => {
    // 2 / 4 = 0.5, b3 and b4 not dispatched yet
    const { action, status } = decideSync(syncState(4, [ok("b1"), ok("b2")]), SP, 2);
    expect(action).toBe("continue_waiting");
    expect(status.progress).toBe(0.5);
    expect(status.status).toBe("waiting");
    expect(status.pendingBranches).toEqual(["b3", "b4"]);
    expect(status.remainingBranches).toEqual(["b3", "b4"]);
  });

  it("dispatches the remaining waves before settling for 0.75 (a deliberate departure, see decideSync)", () => {
    // 4 / 5 = 0.8 but b5 was never dispatched
    const { action } = decideSync(syncState(5, [ok("b1"), ok("b2"), ok("b3"), ok("b4")]), SP, 2);
    expect(action).toBe("continue_waiting");
  });

  it("below 0.75, nothing pending, a failure with retries left → timeout_recovery", () => {
    // 1 / 4 = 0.25; b2 used 1 of 2 retries, b3 and b4 are exhausted
    const state = syncState(4, [ok("b1"), failed("b2"), failed("b3"), failed("b4")], { b2: 1, b3: 2, b4: 2 });
    const { action, status } = decideSync(state, SP, 2);
    expect(action).toBe("timeout_recovery");
    expect(status.progress).toBe(0.25);
    expect(status.failedBranches).toEqual(["b2", "b3", "b4"]);
  });

  it("below 0.75, nothing pending, retries exhausted → recovery_exhausted", () => {
    const state = syncState(4, [ok("b1"), failed("b2"), failed("b3"), failed("b4")], { b2: 2, b3: 2, b4: 2 });
    const { action, status } = decideSync(state, SP, 2);
    expect(action).toBe("recovery_exhausted");
    expect(status.status).toBe("exhausted");
  });

  it("with maxRetries 0 a failure is never retried", () => {
    const { action } = decideSync(syncState(2, [failed("b1"), failed("b2")]), SP, 0);
    expect(action).toBe("recovery_exhausted");
  });

  it("a result from an older attempt does not count", () => {
    // b4 succeeded in attempt 1 but was re-queued as attempt 2: 3 / 4 counted, and b4 is pending
    const active = [allocation("b1", 0), allocation("b2", 1), allocation("b3", 2), allocation("b4", 3, { attempt: 2 })];
    const state = syncState(4, [ok("b1"), ok("b2"), ok("b3"), result("b4", { attempt: 1 })], {}, active);
    const { action, status } = decideSync(state, SP, 2);
    expect(status.progress).toBe(0.75);
    expect(status.completedBranches).toEqual(["b1", "b2", "b3"]);
    expect(status.pendingBranches).toEqual(["b4"]);
    expect(action).toBe("continue_waiting");
  });

  it("a failure from an older attempt is not a failure of the current one", () => {
    const active = [allocation("b1", 0), allocation("b2", 1, { attempt: 2 })];
    const state = syncState(2, [ok("b1"), result("b2", { status: "failed", attempt: 1 })], { b2: 1 }, active);
    const { status } = decideSync(state, SP, 2);
    expect(status.failedBranches).toEqual([]);
    expect(status.pendingBranches).toEqual(["b2"]);
  });

  it("only the sync point's required branches count", () => {
    // b3 is active but not required at this sync point: it neither counts nor holds the merge back
    const state = { ...syncState(3, [ok("b1"), ok("b2")]), syncPoints: { [SP]: ["b1", "b2"] } };
    const { action, status } = decideSync(state, SP, 2);
    expect(action).toBe("proceed_to_merge");
    expect(status.pendingBranches).toEqual([]);
  });
});

describe("syncPointManager without review", () => {
  it("writes the synchronisation status, the next action and one timeline event", async () => {
    const base = syncState(4, [ok("b1"), ok("b2"), ok("b3"), failed("b4")]);
    const update = await plain(
      syncPointManager(makeState({ ...base, settings: { ...SETTINGS, review: "never" } }), {}),
    );
    expect(update.nextCoordinationAction).toBe("conditional_proceed");
    expect(update.synchronizationStatus).toMatchObject({ syncPoint: SP, progress: 0.75, status: "waiting_final" });
    expect(update.executionTimeline).toEqual([
      expect.objectContaining({
        event: "synchronization_checkpoint",
        node: "sync_point_manager",
        syncPoint: SP,
        progress: 0.75,
        action: "conditional_proceed",
      }),
    ]);
    expect(update.reviewDecisions).toBeUndefined();
  });

  it("uses the thread's maxRetries", async () => {
    const base = syncState(2, [failed("b1"), failed("b2")], { b1: 1, b2: 1 });
    const retry = await plain(syncPointManager(makeState({ ...base, settings: { ...SETTINGS, maxRetries: 2 } }), {}));
    expect(retry.nextCoordinationAction).toBe("timeout_recovery");
    const stop = await plain(syncPointManager(makeState({ ...base, settings: { ...SETTINGS, maxRetries: 1 } }), {}));
    expect(stop.nextCoordinationAction).toBe("recovery_exhausted");
  });

  it("fails loudly when no sync point was written", async () => {
    await expect(syncPointManager(makeState(), {})).rejects.toThrow(/no sync point/);
  });
});

describe("routeAfterSynchronization", () => {
  it("follows the decided action", () => {
    expect(routeAfterSynchronization(makeState({ nextCoordinationAction: "timeout_recovery" }))).toBe(
      "timeout_recovery",
    );
    expect(routeAfterSynchronization(makeState({ nextCoordinationAction: "rejected" }))).toBe("rejected");
  });
});
