import { PostgresSaver } from "@langchain/langgraph-checkpoint-postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openCheckpointer, type Checkpointer } from "../checkpoints/index.js";
import { compileWorkflow } from "../graphs/parallel_workflow.js";
import { summariseThread } from "../scripts/parallel_workflow/inspect.js";
import { parallelWorkflowCli } from "../scripts/parallel_workflow/cli.js";
import { renderHistory } from "../scripts/render.js";
import { replayRun, resumeRun, startRun, type Workflow } from "../scripts/parallel_workflow/runner.js";
import { threadHistory as historyOf, type HistoryEntry, type StateReader } from "../scripts/thread_state.js";
import { REVIEW_POINTS } from "../state/shared/review.js";
import type { ReviewDecisionInput } from "../state/shared/review.js";
import type { WorkflowStateType } from "../state/parallel_workflow/workflow.js";
import { createTestSchema, type TestSchema } from "./support/database.js";
import { SETTINGS } from "./support/fixtures.js";
import { BRANCH_NODES } from "../state/parallel_workflow/branches.js";

const threadHistory = (workflow: StateReader, threadId: string) =>
  historyOf(workflow, threadId, { branchNodes: BRANCH_NODES, reviewPoints: REVIEW_POINTS });

// Time travel on Postgres: forks of one checkpoint must not see each other's writes, and a
// replay must leave the checkpoints it started from exactly as they were.

let db: TestSchema;
let opened: Checkpointer;
let workflow: Workflow;

beforeAll(async () => {
  db = await createTestSchema();
  opened = await openCheckpointer({ databaseUrl: db.databaseUrl, schema: db.schema });
  workflow = compileWorkflow(opened.checkpointer);
});
afterAll(async () => {
  await opened?.close();
  await db?.cleanup();
});

const APPROVE: ReviewDecisionInput = { action: "approve", reviewer: "ada" };
const task = (description: string) => [{ description }];

async function completedThread(threadId: string, decisions: ReviewDecisionInput[], on: Workflow = workflow) {
  let outcome = await startRun(on, opened, {
    threadId,
    taskQueue: task("Choose a message broker"),
    settings: { ...SETTINGS, review: "always" },
  });
  for (const decision of decisions) {
    expect(outcome.status).toBe("interrupted");
    outcome = await resumeRun(workflow, opened, { threadId, decision });
  }
  expect(outcome.status).toBe("completed");
}

const valuesAt = async (threadId: string, checkpointId?: string) =>
  (
    await workflow.getState({
      configurable: { thread_id: threadId, ...(checkpointId ? { checkpoint_id: checkpointId } : {}) },
    })
  ).values as WorkflowStateType;

/** The checkpoint before the analysis wave: next, the analysis branches. */
const analysisWave = (entries: HistoryEntry[]) => entries.find((e) => e.next.includes("analysis_branch_primary"))!;

/** Every row the saver holds for a thread, as text: blobs and writes in hex. */
async function rowsOf(threadId: string) {
  const query = async (sql: string) => (await opened.pool.query<{ key: string; row: string }>(sql, [threadId])).rows;
  const schema = `"${db.schema}"`;
  return {
    checkpoints: await query(
      `SELECT checkpoint_id AS key, concat_ws('|', parent_checkpoint_id, checkpoint::text, metadata::text) AS row
         FROM ${schema}.checkpoints WHERE thread_id = $1 ORDER BY 1`,
    ),
    blobs: await query(
      `SELECT channel || '@' || version AS key, type || '|' || coalesce(encode(blob, 'hex'), '') AS row
         FROM ${schema}.checkpoint_blobs WHERE thread_id = $1 ORDER BY 1`,
    ),
    writes: await query(
      `SELECT checkpoint_id AS key, concat_ws('|', task_id, idx, channel, type, encode(blob, 'hex')) AS row
         FROM ${schema}.checkpoint_writes WHERE thread_id = $1 ORDER BY 1, 2`,
    ),
  };
}

/** The rows of `after` whose keys `before` had: equal to `before` when nothing was changed or added to them. */
function sameKeys(before: Awaited<ReturnType<typeof rowsOf>>, after: Awaited<ReturnType<typeof rowsOf>>) {
  const only = (rows: { key: string; row: string }[], keys: { key: string }[]) => {
    const wanted = new Set(keys.map((r) => r.key));
    return rows.filter((r) => wanted.has(r.key));
  };
  return {
    checkpoints: only(after.checkpoints, before.checkpoints),
    blobs: only(after.blobs, before.blobs),
    writes: only(after.writes, before.checkpoints),
  };
}

describe("replay", () => {
  it("replays one checkpoint three times, each fork with its own settings, the original rows untouched", async () => {
    await completedThread("twice", [APPROVE, APPROVE]);
    const original = await threadHistory(workflow, "twice");
    const wave = analysisWave(original);
    const before = await rowsOf("twice");

    const never = await replayRun(workflow, opened, {
      threadId: "twice",
      checkpointId: wave.checkpointId,
      review: "never",
    });
    expect(never.status).toBe("completed");
    const neverHead = (await threadHistory(workflow, "twice")).at(-1)!;
    const neverValues = await valuesAt("twice", neverHead.checkpointId);
    expect(neverValues.settings?.review).toBe("never");

    // Same checkpoint, same number of steps to the first review: under integer versions this
    // fork's settings went under the key the first fork had used, and were dropped.
    const always = await replayRun(workflow, opened, {
      threadId: "twice",
      checkpointId: wave.checkpointId,
      review: "always",
    });
    expect(always).toMatchObject({ status: "interrupted", review: { point: "sync_point_manager" } });
    expect((await valuesAt("twice")).settings?.review).toBe("always");

    // No review mode: the checkpoint's own settings (review always), not a former replay's.
    const plain = await replayRun(workflow, opened, { threadId: "twice", checkpointId: wave.checkpointId });
    expect(plain).toMatchObject({ status: "interrupted", review: { point: "sync_point_manager" } });
    expect((await valuesAt("twice")).settings?.review).toBe("always");

    // The first fork still reads what it wrote, and the original branch is as it was, byte for byte.
    expect(await valuesAt("twice", neverHead.checkpointId)).toEqual(neverValues);
    expect(sameKeys(before, await rowsOf("twice"))).toEqual(before);

    const history = await threadHistory(workflow, "twice");
    const forks = history.filter((e) => e.source === "fork");
    expect(forks.map((e) => e.parentId)).toEqual([wave.checkpointId, wave.checkpointId, wave.checkpointId]);
  });

  it("history after forks: nodes and next on every row, the head branch and the abandoned rows marked", async () => {
    const history = await threadHistory(workflow, "twice");
    for (const e of history) {
      if (e.source === "loop") expect(e.nodes, e.checkpointId).not.toEqual([]);
      // Only a branch's end has nothing to run next.
      if (!e.nodes.includes("final_integrator")) expect(e.next, `${e.step} ${e.source}`).not.toEqual([]);
    }
    expect(history.filter((e) => e.nodes.includes("final_integrator"))).toHaveLength(2);

    // The head branch: the original up to the fork point, then the last replay's rows.
    const byId = new Map(history.map((e) => [e.checkpointId, e]));
    const chain: string[] = [];
    for (let e = history.at(-1); e; e = e.parentId ? byId.get(e.parentId) : undefined) chain.unshift(e.checkpointId);
    expect(history.filter((e) => e.onHeadBranch).map((e) => e.checkpointId)).toEqual(chain);
    expect(history.at(-1)).toMatchObject({ onHeadBranch: true, next: ["sync_point_manager"], replayPoint: "review" });
    const lastFork = history.filter((e) => e.source === "fork").at(-1)!;
    expect(chain).toContain(lastFork.checkpointId);
    expect(history.filter((e) => !e.onHeadBranch).length).toBeGreaterThan(10);

    const text = renderHistory(history, parallelWorkflowCli.historyNodes);
    for (const line of text.split("\n")) expect(line.length, line).toBeLessThanOrEqual(120);
    const row = (e: HistoryEntry) => text.split("\n").find((line) => line.includes(e.checkpointId))!;
    expect(row(analysisWave(history))).toMatch(/ parallel_coordinator +2 analysis branches +wave$/);
    expect(row(history.at(-1)!)).toMatch(/^\d+ +\S+ +\S+ +2 analysis branches +sync_point_manager +review point$/);
    expect(row(history.find((e) => !e.onHeadBranch)!)).toMatch(/^\d+\* /);
    expect(text).toMatch(/^\* left by a replay: kept, but off the head branch/m);
  });

  it("show follows the head branch, not the fork written last before it", async () => {
    const summary = await summariseThread(workflow, "twice");
    expect(summary).toMatchObject({ status: "interrupted", reviewPoint: "sync_point_manager", report: null });
    expect(summary.settings?.review).toBe("always");
    expect(summary.reviews).toEqual([]);
  });

  it("replays through a revision loop, from inside it and from before it", async () => {
    await completedThread("loop", [
      APPROVE,
      { action: "feedback", feedback: "Compare operating costs", reviewer: "ada" },
      APPROVE,
      APPROVE,
    ]);
    const original = await threadHistory(workflow, "loop");
    const done = await valuesAt("loop");
    expect(done.revisionCount).toBe(1);
    const before = await rowsOf("loop");

    // Inside the loop: the revision's wave, re-running the branch the feedback sent back.
    const revisionWave = original.filter((e) => e.replayPoint === "wave").at(-1)!;
    expect(revisionWave.nodes).toEqual(["parallel_coordinator"]);
    expect(original.find((e) => e.checkpointId === revisionWave.parentId)?.nodes).toEqual(["load_balancer"]);
    const inside = await replayRun(workflow, opened, {
      threadId: "loop",
      checkpointId: revisionWave.checkpointId,
      review: "never",
    });
    expect(inside.status).toBe("completed");
    const insideValues = await valuesAt("loop");
    expect(insideValues.revisionCount).toBe(1);
    expect(insideValues.reviewDecisions.map((d) => d.action)).toEqual(["approve", "feedback"]);

    // Before it: at the validator's first review, approving this time, so no revision at all.
    const firstValidation = original.find((e) => e.next.includes("quality_validator"))!;
    const outside = await replayRun(workflow, opened, { threadId: "loop", checkpointId: firstValidation.checkpointId });
    expect(outside).toMatchObject({ status: "interrupted", review: { point: "quality_validator" } });
    expect((await resumeRun(workflow, opened, { threadId: "loop", decision: APPROVE })).status).toBe("completed");
    const approved = await summariseThread(workflow, "loop");
    expect(approved.revision).toBe(0);
    expect(approved.reviews.map((d) => [d.point, d.action])).toEqual([
      ["sync_point_manager", "approve"],
      ["quality_validator", "approve"],
    ]);

    expect(sameKeys(before, await rowsOf("loop"))).toEqual(before);
  });
});

describe("threads saved with integer channel versions", () => {
  it("continue with number versions, each unique, and fork apart", async () => {
    // Paused at the first review by the stock saver, whose versions are integers.
    const stock = new PostgresSaver(opened.pool, undefined, { schema: db.schema });
    const paused = await startRun(compileWorkflow(stock), opened, {
      threadId: "legacy",
      taskQueue: task("Choose a message broker"),
      settings: { ...SETTINGS, review: "always" },
    });
    expect(paused).toMatchObject({ status: "interrupted", review: { point: "sync_point_manager" } });
    const versions = async () =>
      (
        await opened.pool.query<{ version: string }>(
          `SELECT version FROM "${db.schema}".checkpoint_blobs WHERE thread_id = 'legacy'`,
        )
      ).rows.map((r) => r.version);
    const legacy = await versions();
    expect(legacy.every((v) => /^\d+$/.test(v))).toBe(true);

    for (const decision of [APPROVE, APPROVE]) await resumeRun(workflow, opened, { threadId: "legacy", decision });
    const done = await summariseThread(workflow, "legacy");
    expect(done).toMatchObject({ status: "completed", revision: 0 });
    expect(done.branches.map((b) => b.status)).toEqual(["success", "success", "success", "success", "success"]);
    expect(done.report).toContain("Choose a message broker");
    const added = (await versions()).filter((v) => !legacy.includes(v));
    expect(added.length).toBeGreaterThan(0);
    // LangGraph cannot order strings against numbers: the thread's new versions are numbers too.
    expect(added.every((v) => /^\d{1,6}\.\d+$/.test(v))).toBe(true);

    // A checkpoint saved now keeps the integers of channels unchanged since: their blobs are found.
    const head = await stock.getTuple({ configurable: { thread_id: "legacy" } });
    const stored = Object.values(head!.checkpoint.channel_versions);
    expect(stored.every((v) => typeof v === "number") && stored.some((v) => Number.isInteger(v))).toBe(true);
    expect(
      (await opened.checkpointer.getTuple({ configurable: { thread_id: "legacy" } }))!.checkpoint.channel_values,
    ).toEqual(head!.checkpoint.channel_values);

    // Forks of a checkpoint saved with integers are kept apart too.
    const wave = analysisWave(await threadHistory(workflow, "legacy"));
    const forks = [];
    for (const review of ["never", "always"] as const) {
      forks.push(
        (await replayRun(workflow, opened, { threadId: "legacy", checkpointId: wave.checkpointId, review })).status,
      );
    }
    expect(forks).toEqual(["completed", "interrupted"]);
  });
});
