import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { compileWorkflow } from "../graphs/parallel_workflow.js";
import { resetOfflineCallCounts } from "../models/offline.js";
import type { WorkflowStateType } from "../state/workflow.js";
import { createTestSchema, type TestSchema } from "./support/database.js";
import { BRANCH_NODE_OF } from "./support/fixtures.js";

// Integration: the quality gate with the offline model's own judgement, at the default threshold
// (0.8) and revision budget (2), on a real Postgres. Weak branches come from the fault plan.

const TASK = "Choose a message broker for an event-sourced billing system";
const BRANCH_NODES = [...new Set(Object.values(BRANCH_NODE_OF))];

let db: TestSchema;
let workflow: ReturnType<typeof compileWorkflow>;
let threadCount = 0;

beforeAll(async () => {
  db = await createTestSchema();
  workflow = compileWorkflow(db.checkpointer);
});
afterAll(() => db?.cleanup());
beforeEach(() => {
  // The fault plan counts each node's calls in this process: every test starts from zero.
  resetOfflineCallCounts();
  vi.stubEnv("ORCHESTRA_OFFLINE_FAULTS", undefined);
});
afterEach(() => {
  vi.unstubAllEnvs();
});

function weakBranches(weak: number | true) {
  vi.stubEnv("ORCHESTRA_OFFLINE_FAULTS", JSON.stringify(Object.fromEntries(BRANCH_NODES.map((node) => [node, { weak }]))));
}

async function run(task: string): Promise<WorkflowStateType> {
  const configurable = { thread_id: `judge-${++threadCount}-${Date.now()}`, review: "never" };
  return (await workflow.invoke({ task }, { configurable })) as WorkflowStateType;
}

/** The validator's verdicts, in order. */
const verdicts = (state: WorkflowStateType) =>
  state.executionTimeline.filter((e) => e.event === "quality_validated").map((e) => ({ route: e.route, score: e.score as number }));

describe("the offline quality gate", () => {
  it("sends weak branches back once, and approves their revision on its merits", async () => {
    weakBranches(1);
    const final = await run(TASK);

    expect(verdicts(final).map((v) => v.route)).toEqual(["needs_revision", "quality_approved"]);
    const [weak, revised] = verdicts(final);
    expect(weak!.score).toBeLessThan(0.8);
    expect(revised!.score).toBeGreaterThanOrEqual(0.8);
    expect(final.status).toBe("completed");
    expect(final.revisionCount).toBe(1);
    expect(final.settings?.qualityThreshold).toBe(0.8);

    // Every weak branch was below the threshold, so the revision re-ran all of them, carrying the
    // judge's issues as feedback; the second answers are on the task.
    const [request] = final.executionTimeline.filter((e) => e.event === "revision_requested");
    expect([...(request!.branches as string[])].sort()).toEqual(Object.keys(BRANCH_NODE_OF).sort());
    expect(request!.feedback).toMatch(/off the task's subject/);
    for (const id of Object.keys(BRANCH_NODE_OF)) {
      const result = final.completedBranches[id]!;
      expect(result.attempt).toBe(2);
      expect(result.performance.dataQualityScore).toBeGreaterThanOrEqual(0.8);
      expect(JSON.stringify(result.results!.findings)).toMatch(/message broker/);
    }
    expect(final.finalReport).toContain("message broker");
  });

  it("fails branches that stay weak through critical_failure after the last revision, saying why", async () => {
    weakBranches(true);
    const final = await run(TASK);

    expect(verdicts(final).map((v) => v.route)).toEqual(["needs_revision", "needs_revision", "critical_failure"]);
    for (const { score } of verdicts(final)) expect(score).toBeLessThan(0.8);
    expect(final.status).toBe("failed");
    expect(final.revisionCount).toBe(2);
    expect(final.failureReason).toMatch(/^score 0\.\d{3} still below threshold 0.8 after the last revision$/);
    expect(final.qualityReport).toMatchObject({ route: "critical_failure", reason: final.failureReason, revision: 2 });
    const issues = final.qualityReport!.judge!.issues.join(" ");
    expect(issues).toMatch(/primary findings are off the task's subject/);
    expect(issues).toMatch(/No primary finding addresses: "Choose a message broker/);
    expect(final.finalReport).toBeUndefined();
  });

  it.each(["x", "asdf qwer zxcv", "🙂🙂🙂 ??? !!!"])("does not approve the nonsense task %j", async (task) => {
    const final = await run(task);

    expect(verdicts(final).map((v) => v.route)).not.toContain("quality_approved");
    expect(final.status).toBe("failed");
    expect(final.qualityReport!.judgeScore).toBeLessThan(0.8);
    expect(final.qualityReport!.judge!.issues.join(" ")).toMatch(/names no subject a finding could address/);
  });
});
