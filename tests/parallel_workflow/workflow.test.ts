import { Command } from "@langchain/langgraph";
import pg from "pg";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { compileWorkflow } from "../../graphs/parallel_workflow.js";
import { offlineCallCounts, resetOfflineCallCounts } from "../../models/offline/model.js";
import {
  eventsOf,
  type ReviewRequest,
  type TimelineEventKind,
  type WorkflowStateType,
} from "../../state/parallel_workflow/workflow.js";
import { createTestSchema, type TestSchema } from "../support/database.js";
import { jsonResult, runCli } from "../support/cli.js";
import { BRANCH_NODE_OF } from "../support/fixtures.js";

// Integration: the compiled workflow on a real Postgres, driven as the server drives it
// (settings in `configurable`, decisions as Command({ resume })).

const TASK = "Evaluate adopting a managed vector database for a 10M-document semantic search service";

let db: TestSchema;
let workflow: ReturnType<typeof compileWorkflow>;
let threadCount = 0;

beforeAll(async () => {
  db = await createTestSchema();
  workflow = compileWorkflow(db.checkpointer);
});
afterAll(() => db?.cleanup());
beforeEach(() => {
  // Fault plans count each node's calls in this process: every test starts from zero.
  resetOfflineCallCounts();
  vi.stubEnv("ORCHESTRA_OFFLINE_FAULTS", undefined);
});
afterEach(() => {
  vi.unstubAllEnvs();
});

function config(configurable: Record<string, unknown> = {}) {
  return { configurable: { thread_id: `thread-${++threadCount}-${Date.now()}`, review: "never", ...configurable } };
}

async function pendingReview(cfg: ReturnType<typeof config>): Promise<ReviewRequest | undefined> {
  const snapshot = await workflow.getState(cfg);
  return snapshot.tasks.flatMap((t) => t.interrupts ?? [])[0]?.value as ReviewRequest | undefined;
}

const events = <K extends TimelineEventKind>(state: WorkflowStateType, kind: K) =>
  eventsOf(state.executionTimeline, kind);

describe("parallel_workflow on Postgres", () => {
  it("runs a task to a completed report, every branch on its mapped node", async () => {
    const cfg = config();
    const final = (await workflow.invoke({ task: TASK }, cfg)) as WorkflowStateType;

    expect(final.status).toBe("completed");
    expect(final.workflowMode).toBe("adaptive");
    expect(Object.keys(final.activeBranches).sort()).toEqual(Object.keys(BRANCH_NODE_OF).sort());
    for (const [id, node] of Object.entries(BRANCH_NODE_OF)) {
      expect(final.completedBranches[id]).toMatchObject({ status: "success", node, attempt: 1 });
      expect(final.completedBranches[id]!.performance.dataQualityScore).toBeGreaterThan(0);
    }
    expect(final.qualityReport).toMatchObject({ route: "quality_approved" });
    expect(final.qualityReport!.score).toBeGreaterThanOrEqual(0.8);
    const attribution = final.integrationResult!.researchSynthesis.sourceAttribution;
    expect(Object.values(attribution).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 9);
    expect(final.finalReport).toContain("vector database");
    expect(final.finalReport).toContain("## Research");

    // Adaptive mode: three branches at a time, so two waves; one model call per branch.
    expect(events(final, "wave_dispatched").map((e) => (e.branches as unknown[]).length)).toEqual([3, 2]);
    expect(offlineCallCounts()).toMatchObject({
      task_analyzer: 1,
      research_branch_alpha: 1,
      research_branch_beta: 1,
      research_branch_gamma: 1,
      analysis_branch_primary: 1,
      analysis_branch_secondary: 1,
      branch_merger: 2,
      quality_validator: 1,
    });
    expect(final.executionTimeline[0]!.event).toBe("task_analysis_completed");
    expect(final.executionTimeline.at(-1)!.event).toBe("workflow_completed");

    // The thread is durable: a graph compiled afresh on the same database reads the same state.
    const reread = await compileWorkflow(db.checkpointer).getState(cfg);
    expect((reread.values as WorkflowStateType).finalReport).toBe(final.finalReport);
  });

  it("rejects bad input, naming the field, before anything is checkpointed", async () => {
    const cfg = config();
    await expect(workflow.invoke({ task: "   " }, cfg)).rejects.toThrow(/^invalid input: task: must not be empty$/);
    await expect(workflow.invoke({ task: TASK, extra: 1 } as never, cfg)).rejects.toThrow(/extra/);
    expect((await workflow.getState(cfg)).createdAt).toBeUndefined();
    const client = new pg.Client({ connectionString: db.databaseUrl });
    await client.connect();
    try {
      const { rows } = await client.query(
        `SELECT count(*)::int AS n FROM "${db.schema}".checkpoints WHERE thread_id = $1`,
        [cfg.configurable.thread_id],
      );
      expect(rows[0].n).toBe(0);
    } finally {
      await client.end();
    }
  });

  it("fails in task_analyzer, before any model call, on input with both task and taskQueue", async () => {
    await expect(workflow.invoke({ task: TASK, taskQueue: [{ description: TASK }] }, config())).rejects.toThrow(
      /exactly one of 'task' or 'taskQueue'/,
    );
    expect(offlineCallCounts()).toEqual({});
  });

  it("pauses at both review points and is resumed by another process that knows only the thread id", async () => {
    const cfg = config({ review: "always" });
    await workflow.invoke({ task: TASK }, cfg);
    const sync = await pendingReview(cfg);
    expect(sync?.point).toBe("sync_point_manager");
    expect((sync!.details as { branches: unknown[] }).branches).toHaveLength(5);

    const env = { ORCHESTRA_DB_SCHEMA: db.schema };
    const first = await runCli(
      ["resume", cfg.configurable.thread_id, "--approve", "--reviewer", "alice", "--json"],
      env,
    );
    expect(first.code, first.stderr).toBe(0);
    expect(jsonResult(first)).toMatchObject({ status: "interrupted", next: ["quality_validator"] });

    const second = await runCli(
      ["resume", cfg.configurable.thread_id, "--approve", "--reviewer", "bob", "--json"],
      env,
    );
    expect(second.code, second.stderr).toBe(0);
    const result = jsonResult(second);
    expect(result.status).toBe("completed");
    expect(result.report).toContain("# Workflow report");

    const final = (await workflow.getState(cfg)).values as WorkflowStateType;
    expect(final.reviewDecisions.map((d) => [d.point, d.action, d.reviewer])).toEqual([
      ["sync_point_manager", "approve", "alice"],
      ["quality_validator", "approve", "bob"],
    ]);
    const decisions = events(final, "review_decision");
    expect(decisions).toHaveLength(2);
    for (const d of decisions) expect(Date.parse(d.at)).not.toBeNaN();
  });

  it("keeps the settings a thread started with when another process resumes it", async () => {
    // Started the way the server starts a run: settings in `configurable` only.
    const cfg = config({ review: "always", qualityThreshold: 0.99, maxRevisions: 0 });
    await workflow.invoke({ task: TASK }, cfg);
    const env = { ORCHESTRA_DB_SCHEMA: db.schema };
    await runCli(["resume", cfg.configurable.thread_id, "--approve"], env);
    const last = await runCli(["resume", cfg.configurable.thread_id, "--approve", "--json"], env);

    // Under the defaults (0.8, two revisions) this run would complete.
    expect(last.code).toBe(1);
    expect(jsonResult(last).status).toBe("failed");
    const final = (await workflow.getState(cfg)).values as WorkflowStateType;
    expect(final.qualityReport).toMatchObject({ threshold: 0.99, route: "critical_failure" });
    expect(final.failureReason).toMatch(/still below threshold 0.99 after the last revision/);
  });

  it("runs interdependent work sequentially, each branch seeing the results before it", async () => {
    const task =
      "First migrate the schema, then backfill the data, after that switch the reads, and finally retire the old " +
      "database: each step depends on the one before it.";
    const final = (await workflow.invoke({ task }, config())) as WorkflowStateType;

    expect(final.workflowMode).toBe("sequential");
    expect(final.status).toBe("completed");
    const waves = events(final, "wave_dispatched").map((e) =>
      (e.branches as { branchId: string }[]).map((b) => b.branchId),
    );
    expect(waves).toEqual(Object.keys(BRANCH_NODE_OF).map((id) => [id]));
    expect(final.branchDependencies["b3-research-competitive"]).toEqual([
      "b1-research-technical",
      "b2-research-market",
    ]);
    const seen = events(final, "wave_dispatched").map(
      (e) => (e.branches as { priorResults: number }[])[0]!.priorResults,
    );
    expect(seen).toEqual([0, 1, 2, 3, 4]);
  });

  it("ends with status rejected when the reviewer rejects", async () => {
    const cfg = config({ review: "always" });
    await workflow.invoke({ task: TASK }, cfg);
    await workflow.invoke(new Command({ resume: { action: "approve", reviewer: "alice" } }), cfg);
    expect((await pendingReview(cfg))?.point).toBe("quality_validator");
    await workflow.invoke(new Command({ resume: { action: "reject", reviewer: "alice" } }), cfg);

    const snapshot = await workflow.getState(cfg);
    const final = snapshot.values as WorkflowStateType;
    expect(snapshot.next).toEqual([]);
    expect(final.status).toBe("rejected");
    expect(final.failureReason).toMatch(/rejected by alice at quality_validator/);
    expect(final.finalReport).toBeUndefined();
    expect(offlineCallCounts().quality_validator ?? 0).toBe(0);
  });

  it("asks again, saying why, when a resume value is not a valid decision, and takes the next valid one", async () => {
    const cfg = config({ review: "always" });
    await workflow.invoke({ task: TASK }, cfg);
    await workflow.invoke(new Command({ resume: { action: "maybe" } }), cfg);
    expect(await pendingReview(cfg)).toMatchObject({
      point: "sync_point_manager",
      error: expect.stringMatching(/^invalid review decision: action:/),
    });
    await workflow.invoke(new Command({ resume: { action: "feedback" } }), cfg);
    expect((await pendingReview(cfg))?.error).toMatch(/^invalid review decision: feedback:/);

    await workflow.invoke(new Command({ resume: { action: "approve", reviewer: "alice" } }), cfg);
    const review = await pendingReview(cfg);
    expect(review?.point).toBe("quality_validator");
    expect(review).not.toHaveProperty("error");
    const state = (await workflow.getState(cfg)).values as WorkflowStateType;
    expect(state.reviewDecisions.map((d) => [d.point, d.action, d.reviewer])).toEqual([
      ["sync_point_manager", "approve", "alice"],
    ]);
  });

  it("turns reviewer feedback into a revision that carries it to the weakest branch", async () => {
    const cfg = config({ review: "always" });
    const feedback = "Cover licensing costs for self-hosting";
    await workflow.invoke({ task: TASK }, cfg);
    await workflow.invoke(new Command({ resume: { action: "approve", reviewer: "alice" } }), cfg);
    await workflow.invoke(new Command({ resume: { action: "feedback", feedback, reviewer: "alice" } }), cfg);

    // The revision re-runs the weakest branch, then pauses at the sync point again.
    expect((await pendingReview(cfg))?.point).toBe("sync_point_manager");
    let state = (await workflow.getState(cfg)).values as WorkflowStateType;
    expect(state.revisionCount).toBe(1);
    expect(state.qualityReport).toMatchObject({ route: "needs_revision", reason: "the reviewer asked for changes" });
    const revised = Object.values(state.activeBranches).filter((a) => a.attempt === 2);
    expect(revised.length).toBeGreaterThanOrEqual(1);
    for (const allocation of revised) {
      expect(allocation.feedback).toBe(feedback);
      const result = state.completedBranches[allocation.branchId]!;
      expect(result.attempt).toBe(2);
      // The feedback reached the model through the branch's prompt: the revised findings take it up.
      expect(result.results!.findings.flatMap((f) => f.evidence).join("\n")).toContain(feedback);
      expect(result.results!.findings.map((f) => f.claim).join("\n")).toMatch(/licensing costs for self-hosting/i);
    }

    await workflow.invoke(new Command({ resume: { action: "approve", reviewer: "alice" } }), cfg);
    await workflow.invoke(new Command({ resume: { action: "approve", reviewer: "alice" } }), cfg);
    state = (await workflow.getState(cfg)).values as WorkflowStateType;
    expect(state.status).toBe("completed");
    expect(state.reviewDecisions.map((d) => d.action)).toEqual(["approve", "feedback", "approve", "approve"]);
  });
});

// The quality gate with the offline model's own judgement, at the default threshold (0.8) and
// revision budget (2). Weak branches come from the fault plan.
describe("the offline quality gate", () => {
  const BROKER_TASK = "Choose a message broker for an event-sourced billing system";
  const BRANCH_NODES = [...new Set(Object.values(BRANCH_NODE_OF))];

  function weakBranches(weak: number | true) {
    vi.stubEnv(
      "ORCHESTRA_OFFLINE_FAULTS",
      JSON.stringify(Object.fromEntries(BRANCH_NODES.map((node) => [node, { weak }]))),
    );
  }

  const run = async (task: string) => (await workflow.invoke({ task }, config())) as WorkflowStateType;

  /** The validator's verdicts, in order. */
  const verdicts = (state: WorkflowStateType) =>
    events(state, "quality_validated").map((e) => ({ route: e.route, score: e.score as number }));

  it("sends weak branches back once, and approves their revision on its merits", async () => {
    weakBranches(1);
    const final = await run(BROKER_TASK);

    expect(verdicts(final).map((v) => v.route)).toEqual(["needs_revision", "quality_approved"]);
    const [weak, revised] = verdicts(final);
    expect(weak!.score).toBeLessThan(0.8);
    expect(revised!.score).toBeGreaterThanOrEqual(0.8);
    expect(final.status).toBe("completed");
    expect(final.revisionCount).toBe(1);
    expect(final.settings?.qualityThreshold).toBe(0.8);

    // Every weak branch was below the threshold, so the revision re-ran all of them, carrying the
    // judge's issues as feedback; the second answers are on the task.
    const [request] = events(final, "revision_requested");
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
    const final = await run(BROKER_TASK);

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
