import type { ChildProcess } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compileWorkflow } from "../../graphs/parallel_workflow.js";
import type { CallLogEntry } from "../../models/offline/model.js";
import type { FaultPlan } from "../../models/offline/runtime.js";
import type { WorkflowStateType } from "../../state/parallel_workflow/workflow.js";
import { readCallLog, until } from "../support/calls.js";
import { finished, jsonResult, PROJECT_ROOT, runCli, spawnCli, spawnTracked, type CliResult } from "../support/cli.js";
import { createTestSchema, type TestSchema } from "../support/database.js";
import { ThreadAudit, type Reference } from "./audit.js";
import { scenario, type Figures } from "./tally.js";

// The workflow runs in a child process that is killed with SIGKILL at every step of a run;
// another process resumes it. Nothing saved may be lost or run again, and the result must be
// the one an uninterrupted run gives.

const TASK = "Plan the migration of a payments ledger from MySQL to Postgres";
// Long enough for the branches of a wave to overlap, so a kill finds some done and some running.
const LATENCY_MS = "100";
const HELD_CHECKPOINT_CHILD = path.join(PROJECT_ROOT, "tests/support/held_checkpoint_child.ts");

let db: TestSchema;
let client: pg.Client;
let workflow: ReturnType<typeof compileWorkflow>;
let dir: string;
let audit: ThreadAudit;
let reference: Reference;

beforeAll(async () => {
  db = await createTestSchema();
  client = new pg.Client({ connectionString: db.databaseUrl });
  await client.connect();
  workflow = compileWorkflow(db.checkpointer);
  audit = new ThreadAudit(client, db.schema, workflow);
  dir = await mkdtemp(path.join(os.tmpdir(), "orchestra-crash-"));
  const log = path.join(dir, "reference.jsonl");
  reference = await audit.reference(TASK, "crash-reference", env(log), log);
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
  await client?.end();
  await db?.cleanup();
});

function env(log: string): NodeJS.ProcessEnv {
  return { ORCHESTRA_DB_SCHEMA: db.schema, ORCHESTRA_OFFLINE_LATENCY_MS: LATENCY_MS, ORCHESTRA_OFFLINE_CALL_LOG: log };
}

interface Observed {
  calls: CallLogEntry[];
  /** The latest checkpoint's state. */
  values: Partial<WorkflowStateType>;
  /** Branch results saved, in the checkpoint or as writes of the step still running. */
  savedBranches: number;
}

interface KillPoint {
  name: string;
  when: (seen: Observed) => boolean;
  /** For the killed run only: the resume runs without it. */
  faults: FaultPlan;
}

const called = (seen: Observed, ...nodes: string[]) => nodes.every((node) => seen.calls.some((c) => c.node === node));
/** Branch results in the latest checkpoint: their step is over, not just their own write saved. */
const checkpointed = (seen: Observed) => Object.keys(seen.values.completedBranches ?? {}).length;
const hang = (...nodes: string[]): FaultPlan =>
  Object.fromEntries(nodes.map((node) => [node, { hang: true as const }]));

// In run order. The killed run's model calls hang where it is to be killed, so the kill lands
// there however slow the machine is; the resume runs without the fault plan.
const KILL_POINTS: KillPoint[] = [
  { name: "during task_analyzer", faults: hang("task_analyzer"), when: (s) => called(s, "task_analyzer") },
  {
    name: "after task_analyzer, with the first wave running",
    faults: hang("research_branch_alpha", "research_branch_beta", "research_branch_gamma"),
    when: (s) =>
      s.values.workflowMode !== undefined &&
      called(s, "research_branch_alpha", "research_branch_beta", "research_branch_gamma"),
  },
  {
    name: "mid fan-out: two branches saved, the third running",
    faults: hang("research_branch_gamma"),
    when: (s) => s.savedBranches >= 2 && called(s, "research_branch_gamma"),
  },
  {
    name: "after the first wave, at the sync point",
    faults: hang("analysis_branch_primary", "analysis_branch_secondary"),
    when: (s) => checkpointed(s) >= 3 && called(s, "analysis_branch_primary", "analysis_branch_secondary"),
  },
  {
    name: "mid second wave: one branch saved, the other running",
    faults: hang("analysis_branch_secondary"),
    when: (s) => s.savedBranches >= 4 && called(s, "analysis_branch_secondary"),
  },
  {
    name: "after the fan-out, during branch_merger",
    faults: hang("branch_merger"),
    when: (s) => checkpointed(s) >= 5 && called(s, "branch_merger"),
  },
  // The last step with a model call: final_integrator's own step takes milliseconds.
  { name: "during quality_validator", faults: hang("quality_validator"), when: (s) => called(s, "quality_validator") },
];

describe("SIGKILL at every step, then resume", () => {
  it.concurrent.each(KILL_POINTS.map((point, i) => [point.name, point, i] as const))("%s", (_name, point, index) =>
    scenario("crash", point.name, async (figures) => {
      const threadId = `crash-${index}`;
      const log = path.join(dir, `${threadId}.jsonl`);
      const child = spawnCli(["run", TASK, "--thread", threadId, "--review", "never", "--json"], {
        ...env(log),
        ORCHESTRA_OFFLINE_FAULTS: JSON.stringify(point.faults),
      });
      const exited = finished(child);
      await until(async () => {
        const [calls, snapshot, saved] = await Promise.all([
          readCallLog(log),
          audit.state(threadId),
          audit.savedBranchResults(threadId),
        ]);
        return point.when({
          calls,
          values: snapshot.values as Partial<WorkflowStateType>,
          savedBranches: Object.keys(saved).length,
        });
      }, point.name);
      await killAndResume(threadId, log, child, exited, figures);
    }),
  );
});

/**
 * Stops the run with `signal` (SIGKILL, or SIGINT as Ctrl-C sends it), has another process resume
 * it, and checks the recovery into `figures`.
 */
async function killAndResume(
  threadId: string,
  log: string,
  child: ChildProcess,
  exited: Promise<CliResult>,
  figures: Figures,
  signal: "SIGKILL" | "SIGINT" = "SIGKILL",
) {
  child.kill(signal);
  const killed = await exited;
  const stopped = signal === "SIGKILL" ? killed.signal === "SIGKILL" : killed.code === 130;
  if (stopped) figures.faults = 1;
  const saved = await audit.saved(threadId);

  // Another process, knowing only the thread id, finishes the run.
  const resumed = await runCli(["resume", threadId, "--json"], env(log));
  if (resumed.code === 0 && jsonResult(resumed).status === "completed") figures.recovered = 1;
  await audit.checkRecovery(threadId, log, { pid: child.pid, saved }, figures, reference);
  expect(stopped, `stopped by ${signal}: ${JSON.stringify(killed)}`).toBe(true);
  expect(resumed.code, resumed.stderr).toBe(0);
  expect(jsonResult(resumed).status).toBe("completed");
  return { saved, killed };
}

describe("Ctrl-C mid-run, then resume", () => {
  it("re-runs no finished branch: only the one that was running runs again", () =>
    scenario("crash", "Ctrl-C mid fan-out", async (figures) => {
      const threadId = "crash-ctrl-c";
      const log = path.join(dir, `${threadId}.jsonl`);
      const child = spawnCli(["run", TASK, "--thread", threadId, "--review", "never"], {
        ...env(log),
        ORCHESTRA_OFFLINE_FAULTS: JSON.stringify(hang("research_branch_gamma")),
      });
      const exited = finished(child);
      await until(
        async () =>
          Object.keys(await audit.savedBranchResults(threadId)).length >= 2 &&
          (await readCallLog(log)).some((c) => c.node === "research_branch_gamma"),
        "two branches saved and the third running",
      );
      const { saved, killed } = await killAndResume(threadId, log, child, exited, figures, "SIGINT");
      expect(killed.stdout).toContain(
        `stopped. The thread keeps every finished step: resume it with \`orchestra resume ${threadId}\``,
      );
      expect(Object.keys(saved.branches).sort()).toEqual(["b1-research-technical", "b2-research-market"]);
    }));
});

// The checkpoint saved after the first wave: its branches' writes are saved before it is.
const FIRST_WAVE_CHECKPOINT = 3;

describe("SIGKILL between a step's writes and its checkpoint", () => {
  // Under "sync" durability nothing runs on while a checkpoint is being saved, so a process
  // killed then has saved the first wave's results as writes of the step before, which a resume
  // applies. Under "async" the next steps run on and save the second wave's results against
  // checkpoints that were never saved: the resume cannot see them, and runs that wave again.
  it("loses no result: the resume runs nothing that was saved, and ends as an uninterrupted run", () =>
    scenario("crash", "killed while a step's checkpoint was being saved", async (figures) => {
      const threadId = "crash-held-checkpoint";
      const log = path.join(dir, `${threadId}.jsonl`);
      const marker = path.join(dir, `${threadId}.marker`);
      // The merge hangs, so a run that goes on while the checkpoint waits stops there.
      const child = spawnTracked(
        process.execPath,
        ["--import", "tsx", HELD_CHECKPOINT_CHILD, db.schema, threadId, String(FIRST_WAVE_CHECKPOINT), marker, TASK],
        {
          cwd: PROJECT_ROOT,
          env: { ...process.env, ...env(log), ORCHESTRA_OFFLINE_FAULTS: JSON.stringify(hang("branch_merger")) },
        },
      );
      const exited = finished(child);
      const markers = async () => (await readFile(marker, "utf8").catch(() => "")).split("\n");
      await until(
        async () => (await markers()).includes("stalled"),
        "the run to stall with the first wave's checkpoint unsaved",
        60_000,
      );
      expect(await markers()).toContain("held");

      const { saved } = await killAndResume(threadId, log, child, exited, figures);
      // The kill landed in the window: the first wave's results were saved, their checkpoint was not.
      expect(Object.keys(saved.branches)).toEqual(
        expect.arrayContaining(["b1-research-technical", "b2-research-market", "b3-research-competitive"]),
      );
    }));
});
