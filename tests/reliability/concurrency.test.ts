import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it, onTestFinished, vi } from "vitest";
import { openCheckpointer, type Checkpointer } from "../../checkpoints/index.js";
import { compileWorkflow } from "../../graphs/parallel_workflow.js";
import { startRun } from "../../scripts/parallel_workflow/runner.js";
import type { WorkflowStateType } from "../../state/parallel_workflow/workflow.js";
import { readCallLog, until } from "../support/calls.js";
import { finished, jsonResult, runCli, spawnCli } from "../support/cli.js";
import { createTestSchema, type TestSchema } from "../support/database.js";
import { SETTINGS } from "../support/fixtures.js";
import { scenario, type Figures } from "./tally.js";

// Concurrency: two operators resuming one thread, and one process running many threads.

let db: TestSchema;
let opened: Checkpointer;
let workflow: ReturnType<typeof compileWorkflow>;

beforeAll(async () => {
  db = await createTestSchema();
  // The pool and checkpointer the CLI opens, on this file's schema.
  opened = await openCheckpointer({ databaseUrl: db.databaseUrl, schema: db.schema });
  workflow = compileWorkflow(opened.checkpointer);
});
afterEach(() => {
  vi.unstubAllEnvs();
});
afterAll(async () => {
  await opened?.close();
  await db?.cleanup();
});

// One word per thread that no other thread's task contains.
const SUBJECTS = [
  "avocado",
  "bamboo",
  "cobalt",
  "dolphin",
  "espresso",
  "falcon",
  "glacier",
  "hazelnut",
  "iguana",
  "jasmine",
  "kiwi",
  "lantern",
  "mango",
  "nebula",
  "orchid",
  "pelican",
  "quartz",
  "raccoon",
  "saffron",
  "tundra",
];

describe("concurrent runs", () => {
  /**
   * Starts two CLI processes with `args` on `threadId`, whose merge hangs so that whichever gets
   * the thread holds it: the other must be refused while it runs, and only it may make model
   * calls. Kills it at the merge; both processes are killed when the test ends, passed or failed.
   */
  async function oneRunsTheOtherIsRefused(threadId: string, args: string[], figures: Figures) {
    const dir = await mkdtemp(path.join(os.tmpdir(), `orchestra-${threadId}-`));
    onTestFinished(() => rm(dir, { recursive: true, force: true }));
    const log = path.join(dir, "calls.jsonl");
    const hung = {
      ...env(),
      ORCHESTRA_OFFLINE_FAULTS: JSON.stringify({ branch_merger: { hang: true } }),
      ORCHESTRA_OFFLINE_CALL_LOG: log,
    };
    const children = [0, 1].map(() => spawnCli(args, hung));
    onTestFinished(() => {
      for (const child of children) child.kill("SIGKILL");
    });
    const results = children.map(finished);
    const first = await Promise.race(results.map((result, index) => result.then((r) => ({ r, index }))));
    if (first.r.code === 2) figures.faults = 1;
    expect(first.r.code, first.r.stderr).toBe(2);
    expect(first.r.stderr).toContain(`thread ${threadId} is being run by another process right now`);

    const winner = children[1 - first.index]!;
    expect(winner.exitCode).toBeNull();
    await until(
      async () => (await readCallLog(log)).some((c) => c.node === "branch_merger"),
      "the winner to reach the merge",
    );
    expect(new Set((await readCallLog(log)).map((c) => c.pid))).toEqual(new Set([winner.pid]));
    winner.kill("SIGKILL");
    await results[1 - first.index];
  }

  const env = () => ({ ORCHESTRA_DB_SCHEMA: db.schema });
  const state = async (threadId: string) =>
    (await workflow.getState({ configurable: { thread_id: threadId } })).values as WorkflowStateType;

  it("lets exactly one of two resumes of a thread run, and refuses the other", () =>
    scenario("concurrency", "two resumes of one thread at once", async (figures) => {
      const paused = await runCli(
        ["run", "Choose a message broker for billing events", "--thread", "two-resumes", "--json"],
        env(),
      );
      expect(jsonResult(paused).status).toBe("interrupted");
      await oneRunsTheOtherIsRefused("two-resumes", ["resume", "two-resumes", "--approve", "--json"], figures);

      // The approval was applied once: a plain resume carries on to the next review.
      const resumed = await runCli(["resume", "two-resumes", "--json"], env());
      if (resumed.code === 0) figures.recovered = 1;
      expect(resumed.code, resumed.stderr).toBe(0);
      expect(jsonResult(resumed)).toMatchObject({ status: "interrupted", next: ["quality_validator"] });
      expect((await state("two-resumes")).reviewDecisions.map((d) => [d.point, d.action])).toEqual([
        ["sync_point_manager", "approve"],
      ]);
    }));

  it("lets exactly one of two runs naming one new --thread start it, and refuses the other", () =>
    scenario("concurrency", "two runs of one new thread at once", async (figures) => {
      const task = "Choose a message broker for billing events";
      await oneRunsTheOtherIsRefused(
        "two-runs",
        ["run", task, "--thread", "two-runs", "--review", "never", "--json"],
        figures,
      );

      // One run started the thread: one input checkpoint, and a resume finishes it.
      const resumed = await runCli(["resume", "two-runs", "--json"], env());
      if (resumed.code === 0 && jsonResult(resumed).status === "completed") figures.recovered = 1;
      expect(resumed.code, resumed.stderr).toBe(0);
      expect(jsonResult(resumed).status).toBe("completed");
      const sources: unknown[] = [];
      for await (const snapshot of workflow.getStateHistory({ configurable: { thread_id: "two-runs" } }))
        sources.push(snapshot.metadata?.source);
      expect(sources.filter((source) => source === "input")).toHaveLength(1);
      expect((await state("two-runs")).taskQueue).toEqual([{ description: task }]);
    }));

  it("runs 20 threads at once on one process, each with only its own task's work", () =>
    scenario("concurrency", "20 threads at once in one process", async () => {
      // Model calls that take a while make the runs overlap rather than queue.
      vi.stubEnv("ORCHESTRA_OFFLINE_LATENCY_MS", "50");
      const outcomes = await Promise.all(
        SUBJECTS.map((subject) =>
          startRun(workflow, opened, {
            threadId: `many-${subject}`,
            taskQueue: [{ description: `Assess the ${subject} supply chain for a regional retailer` }],
            settings: SETTINGS,
          }),
        ),
      );
      expect(outcomes.map((o) => o.status)).toEqual(SUBJECTS.map(() => "completed"));

      let leaks = 0;
      for (const subject of SUBJECTS) {
        const state = (await workflow.getState({ configurable: { thread_id: `many-${subject}` } }))
          .values as WorkflowStateType;
        expect(state.taskQueue.map((t) => t.description)).toEqual([
          `Assess the ${subject} supply chain for a regional retailer`,
        ]);
        const others = SUBJECTS.filter((s) => s !== subject);
        // Each branch's objective and findings are about this thread's task and no other's.
        for (const id of Object.keys(state.activeBranches)) {
          const text = JSON.stringify([state.activeBranches[id], state.completedBranches[id]]);
          expect(text, id).toContain(subject);
          const foreign = others.filter((other) => text.includes(other));
          expect(foreign, `${subject}/${id}`).toEqual([]);
          leaks += foreign.length;
        }
        expect(state.finalReport).toContain(subject);
      }
      expect(leaks).toBe(0);
    }));
});
