import { mkdtemp, readFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CallLogEntry } from "../models/offline.js";
import { createTestSchema, type TestSchema } from "./support/database.js";
import { finished, jsonResult, runCli, spawnCli } from "./support/cli.js";
import { compileWorkflow } from "../graphs/parallel_workflow.js";
import type { WorkflowStateType } from "../state/workflow.js";

// A run killed with SIGKILL during the fan-out, with some branches done and one still
// running, resumes from its checkpoint without re-running the branches that finished.

const TASK = "Plan the migration of a payments ledger from MySQL to Postgres";

let db: TestSchema;
let client: pg.Client;

beforeAll(async () => {
  db = await createTestSchema();
  client = new pg.Client({ connectionString: db.databaseUrl });
  await client.connect();
});
afterAll(async () => {
  await client?.end();
  await db?.cleanup();
});

async function callsPerNode(log: string): Promise<Record<string, number>> {
  const text = await readFile(log, "utf8").catch(() => "");
  const counts: Record<string, number> = {};
  for (const line of text.split("\n").filter(Boolean)) {
    const entry = JSON.parse(line) as CallLogEntry;
    counts[entry.node] = (counts[entry.node] ?? 0) + 1;
  }
  return counts;
}

/** Branch results LangGraph has saved as pending writes of the running super-step. */
async function savedBranchWrites(threadId: string): Promise<number> {
  const { rows } = await client.query(
    `SELECT count(*)::int AS n FROM "${db.schema}".checkpoint_writes WHERE thread_id = $1 AND channel = 'completedBranches'`,
    [threadId],
  );
  return rows[0].n;
}

async function until(condition: () => Promise<boolean>, what: string, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe("crash during the fan-out", () => {
  it("resumes after SIGKILL without re-running a completed branch", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "orchestra-crash-"));
    const log = path.join(dir, "calls.jsonl");
    const threadId = "crash-fanout";
    const env = { ORCHESTRA_DB_SCHEMA: db.schema, ORCHESTRA_OFFLINE_CALL_LOG: log };

    // research_branch_gamma hangs, so the first wave is caught with alpha and beta done.
    const child = spawnCli(["run", TASK, "--thread", threadId, "--review", "never", "--json"], {
      ...env,
      ORCHESTRA_OFFLINE_FAULTS: JSON.stringify({ research_branch_gamma: { hang: true } }),
    });
    const exited = finished(child);
    await until(async () => (await savedBranchWrites(threadId)) >= 2, "two branch results to be saved");
    await until(async () => (await callsPerNode(log)).research_branch_gamma === 1, "gamma to be running");
    child.kill("SIGKILL");
    expect((await exited).signal).toBe("SIGKILL");
    expect(await callsPerNode(log)).toEqual({
      task_analyzer: 1,
      research_branch_alpha: 1,
      research_branch_beta: 1,
      research_branch_gamma: 1,
    });

    // Another process, knowing only the thread id, finishes the run.
    const resumed = await runCli(["resume", threadId, "--json"], env);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(jsonResult(resumed).status).toBe("completed");

    // Only the branch that was running when the process died ran again.
    expect(await callsPerNode(log)).toEqual({
      task_analyzer: 1,
      research_branch_alpha: 1,
      research_branch_beta: 1,
      research_branch_gamma: 2,
      analysis_branch_primary: 1,
      analysis_branch_secondary: 1,
      branch_merger: 2,
      quality_validator: 1,
    });

    // The result matches an uninterrupted run of the same input, timings and ids aside.
    const reference = await runCli(["run", TASK, "--thread", "crash-reference", "--review", "never", "--json"], env);
    expect(reference.code, reference.stderr).toBe(0);
    const workflow = compileWorkflow(db.checkpointer);
    const crashed = (await workflow.getState({ configurable: { thread_id: threadId } })).values as WorkflowStateType;
    const clean = (await workflow.getState({ configurable: { thread_id: "crash-reference" } })).values as WorkflowStateType;
    const outcome = (s: WorkflowStateType) =>
      Object.fromEntries(Object.entries(s.completedBranches).map(([id, r]) => [id, [r.status, r.attempt, r.results]]));
    expect(outcome(crashed)).toEqual(outcome(clean));
    expect(crashed.status).toBe("completed");
    expect(crashed.qualityReport!.route).toBe(clean.qualityReport!.route);
  });
});
