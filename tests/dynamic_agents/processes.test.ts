import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { agentStatsOn } from "../../checkpoints/dynamic_agents/agent_stats.js";
import { compileDynamicAgents } from "../../graphs/dynamic_agents.js";
import type { FaultPlan } from "../../models/offline/runtime.js";
import { scoreCandidates } from "../../nodes/dynamic_agents/selection.js";
import { summariseTemplates, type AgentSummary } from "../../nodes/dynamic_agents/summary.js";
import type { DynamicAgentsStateType } from "../../state/dynamic_agents/state.js";
import { AGENT_TEMPLATES, type TemplateRegistry } from "../../state/dynamic_agents/templates.js";
import type { DynamicTask } from "../../state/dynamic_agents/types.js";
import { callsPerNode, readCallLog, until } from "../support/calls.js";
import { finished, PROJECT_ROOT } from "../support/cli.js";
import { createTestSchema, type TestSchema } from "../support/database.js";

// Threads run in child processes: killed with SIGKILL and resumed by another, or recording
// outcomes that selection in this process then learns from.

const CHILD = path.join(PROJECT_ROOT, "tests/support/dynamic_agents_child.ts");

interface ChildSummary {
  status: string;
  next: string[];
  agents: AgentSummary[];
  ledgerProblems: string[];
}

let db: TestSchema;
let pool: pg.Pool;
let dir: string;

beforeAll(async () => {
  db = await createTestSchema();
  pool = new pg.Pool({ connectionString: db.databaseUrl });
  dir = await mkdtemp(path.join(os.tmpdir(), "orchestra-agents-"));
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
  await pool?.end();
  await db?.cleanup();
});

function child(args: string[], log: string, faults: FaultPlan = {}, schema = db.schema) {
  return spawn(process.execPath, ["--import", "tsx", CHILD, ...args], {
    cwd: PROJECT_ROOT,
    env: {
      ...process.env,
      DATABASE_URL: db.databaseUrl,
      ORCHESTRA_DB_SCHEMA: schema,
      ORCHESTRA_OFFLINE_CALL_LOG: log,
      ORCHESTRA_OFFLINE_FAULTS: JSON.stringify(faults),
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
}

async function completes(
  args: string[],
  log: string,
  faults: FaultPlan = {},
  schema = db.schema,
): Promise<ChildSummary> {
  const result = await finished(child(args, log, faults, schema));
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout.trim().split("\n").at(-1)!) as ChildSummary;
}

const research = (description: string): DynamicTask => ({ description, type: "research", complexity: 0.9 });

/** Agent results saved as writes of the fan-out step still running: the agents that finished before the kill. */
async function savedResults(threadId: string): Promise<number> {
  const { rows } = await pool.query<{ n: string }>(
    `SELECT count(*) AS n FROM "${db.schema}".checkpoint_writes
     WHERE thread_id = $1 AND channel = 'agentResults'
       AND checkpoint_id = (SELECT max(checkpoint_id) FROM "${db.schema}".checkpoints WHERE thread_id = $1)`,
    [threadId],
  );
  return Number(rows[0]!.n);
}

describe("a thread killed during the agents' fan-out", () => {
  it("resumes in another process with the same agent ids, no finished agent run again, and a balanced ledger", async () => {
    const log = path.join(dir, "crash.jsonl");
    const tasks = [
      research("Survey vector databases"),
      research("Survey embedding models"),
      { description: "Estimate hosting costs", type: "analysis" },
    ];
    const killed = child(["run", "crash", JSON.stringify(tasks)], log, { "crash/agent-2": { hang: true } });
    const exited = finished(killed);
    try {
      await until(
        async () => callsPerNode(await readCallLog(log))["crash/agent-2"] === 1 && (await savedResults("crash")) === 2,
        "two agents saved and the third running",
      );
    } finally {
      // The hanging agent would hold the child forever.
      killed.kill("SIGKILL");
    }
    expect((await exited).signal).toBe("SIGKILL");

    const workflow = compileDynamicAgents(db.checkpointer, agentStatsOn(pool, db.schema));
    const before = (await workflow.getState({ configurable: { thread_id: "crash" } })).values as DynamicAgentsStateType;
    const idsBefore = Object.keys(before.agents);

    const resumed = await completes(["resume", "crash"], log);
    expect(resumed.status).toBe("completed");
    expect(resumed.next).toEqual([]);
    expect(resumed.agents.map((a) => [a.agentId, a.status])).toEqual([
      ["crash/agent-0", "completed"],
      ["crash/agent-1", "completed"],
      ["crash/agent-2", "completed"],
      ["crash/agent-3", "completed"],
    ]);
    expect(resumed.agents.map((a) => a.agentId)).toEqual(idsBefore);
    // The two saved agents ran once, in the killed process; the interrupted one once more; the coordinator once.
    const agentCalls = Object.entries(callsPerNode(await readCallLog(log))).filter(([node]) =>
      node.includes("/agent-"),
    );
    expect(Object.fromEntries(agentCalls)).toEqual({
      "crash/agent-0": 1,
      "crash/agent-1": 1,
      "crash/agent-2": 2,
      "crash/agent-3": 1,
    });
    expect(resumed.ledgerProblems).toEqual([]);
    const { rows } = await pool.query(
      `SELECT status FROM "${db.schema}".agent_runs WHERE thread_id = 'crash' ORDER BY agent_id`,
    );
    expect(rows.map((r) => r.status)).toEqual(["success", "success", "success", "success"]);
  });
});

describe("selection learning across processes", () => {
  const withGeneralist: TemplateRegistry = {
    ...AGENT_TEMPLATES,
    research_generalist: {
      ...AGENT_TEMPLATES.research_specialist!,
      agentType: "research_generalist",
      capabilities: ["research", "analysis", "synthesis"],
    },
  };

  // A schema of its own: the statistics are shared by every thread on the schema.
  let learning: TestSchema;
  let statsPool: pg.Pool;
  beforeAll(async () => {
    learning = await createTestSchema();
    statsPool = new pg.Pool({ connectionString: learning.databaseUrl });
  });
  afterAll(async () => {
    await statsPool?.end();
    await learning?.cleanup();
  });

  it("picks the generalist once another process has recorded the specialist failing most of its runs", async () => {
    const stats = agentStatsOn(statsPool, learning.schema);
    const choose = async () =>
      scoreCandidates(["research"], withGeneralist, await stats.readStats(), 8000)[0]!.agentType;
    expect(await choose()).toBe("research_specialist");

    const tasks = ["a", "b", "c", "d"].map((name) => research(`Survey ${name}`));
    const faults = Object.fromEntries([0, 1, 2].map((i) => [`learn/agent-${i}`, { fail: 100 }]));
    const run = await completes(
      ["run", "learn", JSON.stringify(tasks)],
      path.join(dir, "learning.jsonl"),
      faults,
      learning.schema,
    );
    expect(run.agents.map((a) => a.status)).toEqual(["failed", "failed", "failed", "completed", "completed"]);

    // One success in four: 0.4 × 0.25 is below the generalist's 0.4 × 1/3.
    const templates = summariseTemplates(AGENT_TEMPLATES, await stats.readStats());
    expect(templates.find((t) => t.agentType === "research_specialist")).toMatchObject({
      creations: 4,
      successRate: 0.25,
    });
    expect(await choose()).toBe("research_generalist");
  });
});
