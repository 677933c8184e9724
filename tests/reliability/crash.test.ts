import { mkdtemp } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compileWorkflow } from "../../graphs/parallel_workflow.js";
import type { CallLogEntry } from "../../models/offline.js";
import type { FaultPlan } from "../../models/offline-runtime.js";
import type { WorkflowStateType } from "../../state/workflow.js";
import { callsPerNode, readCallLog, until } from "../support/calls.js";
import { finished, jsonResult, runCli, spawnCli } from "../support/cli.js";
import { createTestSchema, type TestSchema } from "../support/database.js";
import { addCounts, cutOffCalls, lostResults, needlessCalls, ThreadAudit } from "./audit.js";
import { comparableState } from "./comparable.js";
import { record } from "./tally.js";

// The workflow runs in a child process that is killed with SIGKILL at every step of a run;
// another process resumes it. Nothing saved may be lost or run again, and the result must be
// the one an uninterrupted run gives.

const TASK = "Plan the migration of a payments ledger from MySQL to Postgres";
// Each model call takes this long, so every step with a model call is a window wide enough
// to be caught by polling the checkpoints.
const LATENCY_MS = "300";

let db: TestSchema;
let client: pg.Client;
let workflow: ReturnType<typeof compileWorkflow>;
let dir: string;
let audit: ThreadAudit;
let reference: Awaited<ReturnType<ThreadAudit["reference"]>>;

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
  await client?.end();
  await db?.cleanup();
});

function env(log: string): NodeJS.ProcessEnv {
  return { ORCHESTRA_DB_SCHEMA: db.schema, ORCHESTRA_OFFLINE_LATENCY_MS: LATENCY_MS, ORCHESTRA_OFFLINE_CALL_LOG: log };
}

interface Observed {
  calls: CallLogEntry[];
  values: Partial<WorkflowStateType>;
  savedBranches: number;
}

interface KillPoint {
  name: string;
  when: (seen: Observed) => boolean;
  /** For the killed run only: the resume runs without it. */
  faults?: FaultPlan;
}

const called = (seen: Observed, node: string) => seen.calls.some((c) => c.node === node);

// In run order. A step without a model call takes milliseconds, so a kill "after X" lands in
// the model call of the step that follows it; each point still kills a different step.
const KILL_POINTS: KillPoint[] = [
  { name: "during task_analyzer", when: (s) => called(s, "task_analyzer") },
  { name: "after task_analyzer, in the first wave", when: (s) => s.values.workflowMode !== undefined },
  {
    name: "mid fan-out: two branches saved, the third running",
    // gamma hangs, so the first wave is caught with alpha and beta done.
    faults: { research_branch_gamma: { hang: true } },
    when: (s) => s.savedBranches >= 2 && called(s, "research_branch_gamma"),
  },
  { name: "after the first wave, at the sync point", when: (s) => Object.keys(s.values.completedBranches ?? {}).length >= 3 },
  { name: "during the second wave", when: (s) => called(s, "analysis_branch_primary") },
  { name: "after the fan-out, in branch_merger", when: (s) => Object.keys(s.values.completedBranches ?? {}).length >= 5 },
  // The last step with a model call: final_integrator's own step takes milliseconds.
  { name: "during quality_validator", when: (s) => called(s, "quality_validator") },
];

describe("SIGKILL at every step, then resume", () => {
  it.concurrent.each(KILL_POINTS.map((point, i) => [point.name, point, i] as const))(
    "%s",
    async (_name, point, index) => {
      const threadId = `crash-${index}`;
      const log = path.join(dir, `${threadId}.jsonl`);
      const child = spawnCli(["run", TASK, "--thread", threadId, "--review", "never", "--json"], {
        ...env(log),
        ...(point.faults ? { ORCHESTRA_OFFLINE_FAULTS: JSON.stringify(point.faults) } : {}),
      });
      const exited = finished(child);
      await until(async () => {
        const [calls, snapshot, saved] = await Promise.all([readCallLog(log), audit.state(threadId), audit.savedBranchResults(threadId)]);
        return point.when({ calls, values: snapshot.values as Partial<WorkflowStateType>, savedBranches: Object.keys(saved).length });
      }, point.name);
      child.kill("SIGKILL");
      const killed = await exited;
      expect(killed.signal, killed.stdout + killed.stderr).toBe("SIGKILL");
      const tasksAtKill = await audit.savedTasks(threadId);
      const branchesAtKill = await audit.savedBranchResults(threadId);

      // Another process, knowing only the thread id, finishes the run.
      const resumed = await runCli(["resume", threadId, "--json"], env(log));
      expect(resumed.code, resumed.stderr).toBe(0);
      expect(jsonResult(resumed).status).toBe("completed");

      // The resumer ran no task whose writes were saved, and the two processes together did the
      // uninterrupted run's work plus exactly the calls the kill cut off.
      const calls = await readCallLog(log);
      const needless = needlessCalls(calls, child.pid, tasksAtKill);
      expect(needless).toEqual([]);
      expect(callsPerNode(calls)).toEqual(addCounts(reference.calls, cutOffCalls(calls, child.pid, tasksAtKill)));

      // Every branch result saved before the kill is in the final state, untouched.
      const final = (await audit.state(threadId)).values as WorkflowStateType;
      const lost = lostResults(branchesAtKill, final);
      expect(lost).toEqual([]);
      expect(comparableState(final)).toEqual(reference.state);
      expect(await audit.integrityProblems(threadId)).toEqual([]);

      record("crash", point.name, { faults: 1, recovered: 1, lost: lost.length, needless: needless.length });
    },
  );
});
