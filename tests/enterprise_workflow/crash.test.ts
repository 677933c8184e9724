import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compileEnterpriseWorkflow } from "../../graphs/enterprise_workflow.js";
import type { FaultPlan } from "../../models/offline/runtime.js";
import type { RunSummary } from "../../state/enterprise_workflow/report.js";
import type { EnterpriseState } from "../../state/enterprise_workflow/state.js";
import { callsPerNode, readCallLog, until } from "../support/calls.js";
import { finished, PROJECT_ROOT } from "../support/cli.js";
import { createTestSchema, type TestSchema } from "../support/database.js";

// Engine threads run in child processes killed with SIGKILL; another process resumes them.

const here = path.dirname(fileURLToPath(import.meta.url));
const CHILD = path.join(PROJECT_ROOT, "tests/support/enterprise_child.ts");
const FANOUT = path.join(here, "fixtures/crash-fanout.yaml");
const DEADLINE = path.join(here, "fixtures/deadline.yaml");
const INPUT = JSON.stringify({ topic: "moving a ledger to Postgres" });

let db: TestSchema;
let client: pg.Client;
let workflow: ReturnType<typeof compileEnterpriseWorkflow>;
let dir: string;

beforeAll(async () => {
  db = await createTestSchema();
  client = new pg.Client({ connectionString: db.databaseUrl });
  await client.connect();
  workflow = compileEnterpriseWorkflow(db.checkpointer);
  dir = await mkdtemp(path.join(os.tmpdir(), "orchestra-engine-"));
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
  await client?.end();
  await db?.cleanup();
});

function child(args: string[], log: string, faults: FaultPlan = {}) {
  return spawn(process.execPath, ["--import", "tsx", CHILD, ...args], {
    cwd: PROJECT_ROOT,
    env: {
      ...process.env,
      DATABASE_URL: db.databaseUrl,
      ORCHESTRA_DB_SCHEMA: db.schema,
      ORCHESTRA_OFFLINE_CALL_LOG: log,
      ORCHESTRA_OFFLINE_LATENCY_MS: "20",
      ORCHESTRA_OFFLINE_FAULTS: JSON.stringify(faults),
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
}

async function completes(args: string[], log: string): Promise<RunSummary> {
  const result = await finished(child(args, log));
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout.trim().split("\n").at(-1)!) as RunSummary;
}

const values = async (threadId: string) =>
  (await workflow.getState({ configurable: { thread_id: threadId } })).values as EnterpriseState;

/** Outcomes saved as writes of the step still running: the children that finished before the kill. */
async function savedOutcomes(threadId: string): Promise<number> {
  const { rows } = await client.query<{ n: string }>(
    `SELECT count(*) AS n FROM "${db.schema}".checkpoint_writes
     WHERE thread_id = $1 AND channel = 'intermediateResults'
       AND checkpoint_id = (SELECT max(checkpoint_id) FROM "${db.schema}".checkpoints WHERE thread_id = $1)`,
    [threadId],
  );
  return Number(rows[0]!.n);
}

/** The state without what differs between any two runs: clock readings and the run's id. */
function comparable(state: EnterpriseState) {
  const steps = Object.fromEntries(
    Object.entries(state.steps).map(([key, { startedAt, finishedAt, durationMs, ...rest }]) => [key, rest]),
  );
  return {
    status: state.status,
    steps,
    context: state.context,
    intermediateResults: state.intermediateResults,
    completedSteps: [...state.completedSteps].sort(),
    failedSteps: state.failedSteps,
    retryCount: state.retryCount,
    audit: state.auditTrail.map(({ at, ...entry }) => entry),
  };
}

describe("the engine after SIGKILL", () => {
  it("resumes a parallel step from another process without re-running finished children, to the uninterrupted run's state", async () => {
    const referenceLog = path.join(dir, "reference.jsonl");
    const reference = await completes(["run", "fanout-reference", FANOUT, INPUT], referenceLog);
    expect(reference.status).toBe("COMPLETED");

    const log = path.join(dir, "crash.jsonl");
    const killed = child(["run", "fanout-crash", FANOUT, INPUT], log, { people: { hang: true } });
    const exited = finished(killed);
    await until(async () => {
      const calls = callsPerNode(await readCallLog(log));
      return calls.people === 1 && (await savedOutcomes("fanout-crash")) === 3;
    }, "three children saved and the fourth running");
    killed.kill("SIGKILL");
    expect((await exited).signal).toBe("SIGKILL");
    expect((await values("fanout-crash")).steps.people!.status).toBe("RUNNING");

    const resumed = await completes(["resume", "fanout-crash"], log);
    expect(resumed.status).toBe("COMPLETED");
    expect(resumed.next).toEqual([]);
    // Each finished child was called once, in the killed process; the interrupted one once more.
    expect(callsPerNode(await readCallLog(log))).toEqual({
      brief: 1,
      market: 1,
      costs: 1,
      risks: 1,
      people: 2,
      report: 1,
    });
    expect(callsPerNode(await readCallLog(referenceLog))).toEqual({
      brief: 1,
      market: 1,
      costs: 1,
      risks: 1,
      people: 1,
      report: 1,
    });
    expect(comparable(await values("fanout-crash"))).toEqual(comparable(await values("fanout-reference")));
  });

  it("ends TIMEOUT when the deadline passed while the process was down", async () => {
    const log = path.join(dir, "deadline.jsonl");
    const killed = child(["run", "deadline-down", DEADLINE], log, { slow: { hang: true } });
    const exited = finished(killed);
    await until(async () => callsPerNode(await readCallLog(log)).slow === 1, "the slow step running");
    killed.kill("SIGKILL");
    expect((await exited).signal).toBe("SIGKILL");
    const { deadline } = await values("deadline-down");
    await until(() => Date.now() > Date.parse(deadline), "the deadline to pass");

    const resumed = await completes(["resume", "deadline-down"], log);
    expect(resumed.status).toBe("TIMEOUT");
    expect(resumed.steps.after!.status).toBe("PENDING");
    // The resumed process found the deadline gone before calling the model again.
    expect(callsPerNode(await readCallLog(log))).toEqual({ slow: 1 });
    expect((await values("deadline-down")).steps.slow!.error).toMatch(/deadline .* passed before the step ran/);
  });
});
