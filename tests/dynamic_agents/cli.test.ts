import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AGENT_RUNS_TABLE, AGENT_TEMPLATES_TABLE } from "../../checkpoints/dynamic_agents/agent_stats.js";
import type { TemplateSummary } from "../../nodes/dynamic_agents/summary.js";
import pg from "pg";
import { jsonResult, runCli } from "../support/cli.js";
import { createTestSchema, type TestSchema } from "../support/database.js";

// The dynamic_agents workflow through `orchestra` as a user runs it: child processes, real exit
// codes and output, real Postgres (DATABASE_URL, or the embedded one when it is unset).

const TASKS = [
  {
    description: "Survey open-source vector databases for a 10M-document search service",
    type: "research",
    complexity: 0.9,
  },
  { description: "Survey managed vector search offerings and their pricing", type: "research", complexity: 0.85 },
  { description: "Analyse total cost of ownership of self-hosting versus managed vector search", type: "analysis" },
];

let db: TestSchema;
let env: NodeJS.ProcessEnv;
let dir: string;

beforeAll(async () => {
  db = await createTestSchema();
  env = { ORCHESTRA_DB_SCHEMA: db.schema, ORCHESTRA_MODEL: "offline" };
  dir = await mkdtemp(path.join(os.tmpdir(), "orchestra-agents-cli-"));
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
  await db?.cleanup();
});

async function taskFile(name: string, content: unknown): Promise<string> {
  const file = path.join(dir, name);
  await writeFile(file, JSON.stringify(content));
  return file;
}

async function agents(schemaEnv: NodeJS.ProcessEnv): Promise<TemplateSummary[]> {
  const result = await runCli(["agents", "--json"], schemaEnv);
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as TemplateSummary[];
}

describe("orchestra run --workflow dynamic_agents", () => {
  it("with --review never runs to a completed report, exit 0, and ends stdout with the --json summary", async () => {
    const result = await runCli(
      [
        "run",
        "--workflow",
        "dynamic_agents",
        "--task-file",
        await taskFile("run.json", { taskQueue: TASKS }),
        "--review",
        "never",
        "--json",
      ],
      env,
    );
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout.trim().split("\n")).toHaveLength(1);
    const summary = jsonResult(result) as ReturnType<typeof jsonResult> & { workflow: string };
    expect(summary).toMatchObject({ workflow: "dynamic_agents", status: "completed", reviewPoint: null });
    expect(summary.threadId).toMatch(/^[0-9a-f-]{36}$/);
    expect(summary.qualityScore).toBeGreaterThanOrEqual(0.8);
    expect(summary.report).toMatch(/^# /);
    // Progress goes to stderr: a line per step, three agents then their coordinator.
    const steps = result.stderr.split("\n").filter((line) => line.startsWith("  "));
    expect(steps).toEqual([
      "  agent_generator ✓",
      "  dynamic_agent ✓",
      "  dynamic_agent ✓",
      "  dynamic_agent ✓",
      "  coordination ✓",
      "  sync_point_manager ✓",
      "  branch_merger ✓",
      "  quality_validator ✓",
      "  final_integrator ✓",
    ]);
  });

  it("takes a bare list of tasks as its task queue, as the research workflow does", async () => {
    const result = await runCli(
      [
        "run",
        "--workflow",
        "dynamic_agents",
        "--task-file",
        await taskFile("bare.json", TASKS),
        "--review",
        "never",
        "--json",
      ],
      env,
    );
    expect(result.code, result.stderr).toBe(0);
    expect(jsonResult(result)).toMatchObject({ status: "completed" });
  });
});

describe("a bad task file", () => {
  let bad: TestSchema;
  let pool: pg.Pool;
  beforeAll(async () => {
    bad = await createTestSchema();
    pool = new pg.Pool({ connectionString: bad.databaseUrl });
  });
  afterAll(async () => {
    await pool?.end();
    await bad?.cleanup();
  });

  /** Rows in every table of the schema that holds threads or agents: the checkpoints' and the statistics'. */
  async function savedRows(): Promise<Record<string, number>> {
    const { rows } = await pool.query<{ table_name: string }>(
      "SELECT table_name FROM information_schema.tables WHERE table_schema = $1 AND table_name <> 'checkpoint_migrations'",
      [bad.schema],
    );
    const counts: Record<string, number> = {};
    for (const { table_name } of rows) {
      const {
        rows: [count],
      } = await pool.query<{ n: string }>(`SELECT count(*) AS n FROM "${bad.schema}"."${table_name}"`);
      counts[table_name] = Number(count!.n);
    }
    return counts;
  }

  it.each([
    [
      "unknown capability",
      { taskQueue: [{ description: "Read minds", type: "research", capabilities: ["telepathy"] }] },
      /taskQueue\.0\.capabilities\.0: unknown capability "telepathy"; use one of research, analysis/,
    ],
    [
      "negative deadline",
      { taskQueue: [{ description: "Survey brokers", type: "research", deadline: -5 }] },
      /taskQueue\.0\.deadline: must be a positive number of seconds/,
    ],
    [
      "10 000 tasks",
      { taskQueue: Array.from({ length: 10_000 }, (_, i) => ({ description: `Topic ${i}` })) },
      /taskQueue: must hold at most 50 tasks/,
    ],
  ])(
    "(%s) exits 2 with one line naming the file and the problem, and saves nothing",
    async (name, content, problem) => {
      const file = await taskFile(`${name.replace(/\W+/g, "_")}.json`, content);
      const result = await runCli(
        ["run", "--workflow", "dynamic_agents", "--task-file", file, "--review", "never", "--json"],
        { ...env, ORCHESTRA_DB_SCHEMA: bad.schema },
      );
      expect(result.code).toBe(2);
      expect(result.stdout).toBe("");
      expect(result.stderr.trimEnd().split("\n")).toEqual([
        expect.stringMatching(new RegExp(`^orchestra: --task-file ${file}: invalid task queue: ${problem.source}`)),
      ]);
      const saved = await savedRows();
      expect(saved).toMatchObject({ checkpoints: 0, checkpoint_writes: 0, checkpoint_blobs: 0 });
      expect(saved[AGENT_RUNS_TABLE] ?? 0).toBe(0);
      for (const count of Object.values(saved)) expect(count).toBe(0);
    },
  );
});

describe("orchestra agents", () => {
  // A schema of its own: the statistics start empty, whatever else this file runs.
  let own: TestSchema;
  let ownEnv: NodeJS.ProcessEnv;
  beforeAll(async () => {
    own = await createTestSchema();
    ownEnv = { ...env, ORCHESTRA_DB_SCHEMA: own.schema };
  });
  afterAll(() => own?.cleanup());

  it("lists every template with its capabilities, and counts the agents a run creates with their quality", async () => {
    const before = await agents(ownEnv);
    expect(before.map((t) => [t.agentType, t.capabilities, t.creations, t.successRate, t.averageQuality])).toEqual([
      ["analysis_specialist", ["analysis"], 0, 1, null],
      ["coordination_specialist", ["coordination"], 0, 1, null],
      ["research_specialist", ["research"], 0, 1, null],
      ["synthesis_specialist", ["synthesis"], 0, 1, null],
    ]);

    const run = await runCli(
      [
        "run",
        "--workflow",
        "dynamic_agents",
        "--task-file",
        await taskFile("tasks.json", { taskQueue: TASKS }),
        "--review",
        "never",
        "--json",
      ],
      ownEnv,
    );
    expect(run.code, run.stderr).toBe(0);
    expect(jsonResult(run).status).toBe("completed");

    const after = Object.fromEntries((await agents(ownEnv)).map((t) => [t.agentType, t]));
    expect(after.research_specialist).toMatchObject({ creations: 2, successRate: 1 });
    expect(after.analysis_specialist).toMatchObject({ creations: 1, successRate: 1 });
    expect(after.coordination_specialist).toMatchObject({ creations: 1, successRate: 1 });
    expect(after.synthesis_specialist).toMatchObject({ creations: 0, averageQuality: null });
    for (const type of ["research_specialist", "analysis_specialist", "coordination_specialist"]) {
      expect(after[type]!.averageQuality).toBeGreaterThan(0);
      expect(after[type]!.averageQuality).toBeLessThanOrEqual(1);
    }

    const table = await runCli(["agents"], ownEnv);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout.split("\n")[0]).toMatch(/^template +created +success +quality +mean s +errors +capabilities$/);
    expect(table.stdout).toMatch(/^research_specialist +2 +100% +\d\.\d{3} +\d+\.\d{3} +0 +research$/m);
    expect(table.stdout).toMatch(/^synthesis_specialist +0 +100% +- +- +0 +synthesis$/m);
  });
});

describe("a dynamic_agents thread paused at its review", () => {
  it("is listed as dynamic_agents, shows its agents, and resumes with --approve from another process", async () => {
    const run = await runCli(
      [
        "run",
        "--workflow",
        "dynamic_agents",
        "--task-file",
        await taskFile("review.json", { taskQueue: TASKS }),
        "--review",
        "always",
        "--json",
      ],
      env,
    );
    expect(run.code, run.stderr).toBe(0);
    const paused = jsonResult(run);
    expect(paused).toMatchObject({ status: "interrupted", reviewPoint: "sync_point_manager" });
    const threadId = paused.threadId;

    const threads = await runCli(["threads", "--json", "--status", "interrupted"], env);
    expect(threads.code, threads.stderr).toBe(0);
    expect(
      (JSON.parse(threads.stdout) as { threadId: string; workflow: string; reviewPoint: string | null }[]).find(
        (t) => t.threadId === threadId,
      ),
    ).toMatchObject({
      workflow: "dynamic_agents",
      reviewPoint: "sync_point_manager",
    });

    const show = await runCli(["show", threadId, "--json"], env);
    expect(show.code, show.stderr).toBe(0);
    const summary = JSON.parse(show.stdout) as { workflow: string; status: string; agents: Record<string, unknown>[] };
    expect(summary).toMatchObject({ workflow: "dynamic_agents", status: "interrupted" });
    expect(summary.agents.map((a) => [a.agentType, a.capabilities, a.status, a.error])).toEqual([
      ["research_specialist", ["research"], "completed", null],
      ["research_specialist", ["research"], "completed", null],
      ["analysis_specialist", ["analysis"], "completed", null],
      ["coordination_specialist", ["coordination"], "completed", null],
    ]);
    for (const agent of summary.agents) {
      expect(Object.keys(agent).sort()).toEqual(["agentId", "agentType", "capabilities", "error", "score", "status"]);
      expect(agent.score).toBeGreaterThan(0);
    }
    const text = await runCli(["show", threadId], env);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(new RegExp(`^Thread ${threadId} — interrupted at sync_point_manager`));
    expect(text.stdout).toMatch(/^  AGENT +TYPE +CAPABILITIES +SCORE +STATUS/m);

    const bare = await runCli(["resume", threadId], env);
    expect(bare.code).toBe(2);
    expect(bare.stderr.trim()).toBe(
      `orchestra: thread ${threadId} is waiting for review at sync_point_manager: pass --approve, --reject or --feedback TEXT`,
    );

    const first = await runCli(["resume", threadId, "--approve", "--reviewer", "alice", "--json"], env);
    expect(first.code, first.stderr).toBe(0);
    expect(jsonResult(first)).toMatchObject({ threadId, status: "interrupted", reviewPoint: "quality_validator" });
    const second = await runCli(["resume", threadId, "--approve", "--reviewer", "alice", "--json"], env);
    expect(second.code, second.stderr).toBe(0);
    expect(jsonResult(second)).toMatchObject({ threadId, status: "completed", reviewPoint: null });
    expect(jsonResult(second).report).toMatch(/^# /);

    const report = await runCli(["report", threadId], env);
    expect(report.code, report.stderr).toBe(0);
    expect(report.stdout).toMatch(/^# /);
    const again = await runCli(["resume", threadId, "--approve"], env);
    expect(again.code).toBe(2);
    expect(again.stderr.trim()).toBe(
      `orchestra: thread ${threadId} has already finished (completed): nothing to resume`,
    );
    // Eleven processes, each opening the database and loading the workflow.
  }, 300_000);
});

describe("orchestra agents add", () => {
  const FACT_CHECKER = {
    agentType: "fact_checker",
    capabilities: ["validation"],
    role: "You check facts against their sources.",
    memoryMb: 512,
    tokens: 4000,
    maxConcurrentTasks: 1,
  };

  it("refuses a bad template file with exit 2 and one line naming the field, and writes nothing", async () => {
    const bad = [
      [
        { ...FACT_CHECKER, capabilities: ["juggling"] },
        /^orchestra: invalid agent template: capabilities\.0: unknown capability "juggling"; use one of /,
      ],
      [
        { ...FACT_CHECKER, agentType: "research_specialist" },
        /^orchestra: invalid agent template: agentType: research_specialist is a built-in template; choose another name$/,
      ],
      [{ ...FACT_CHECKER, colour: "blue" }, /^orchestra: invalid agent template: file: /],
    ] as const;
    for (const [content, message] of bad) {
      const result = await runCli(["agents", "add", await taskFile("bad-template.json", content)], env);
      expect(result.code).toBe(2);
      expect(result.stderr.trim().split("\n")).toHaveLength(1);
      expect(result.stderr.trim()).toMatch(message);
    }
    const pool = new pg.Pool({ connectionString: db.databaseUrl, max: 1 });
    try {
      const { rows } = await pool.query(`SELECT to_regclass($1) IS NULL AS missing`, [
        `"${db.schema}".${AGENT_TEMPLATES_TABLE}`,
      ]);
      if (!rows[0].missing)
        expect((await pool.query(`SELECT * FROM "${db.schema}".${AGENT_TEMPLATES_TABLE}`)).rows).toEqual([]);
    } finally {
      await pool.end();
    }
  });

  it("registers a template from a file, lists it with the built-in ones, and replaces it when added again", async () => {
    const added = await runCli(["agents", "add", await taskFile("fact_checker.json", FACT_CHECKER), "--json"], env);
    expect(added.code, added.stderr).toBe(0);
    expect(JSON.parse(added.stdout)).toEqual({
      agentType: "fact_checker",
      capabilities: ["validation"],
      registered: true,
    });
    const again = await runCli(
      [
        "agents",
        "add",
        await taskFile("fact_checker.json", { ...FACT_CHECKER, capabilities: ["validation", "research"] }),
      ],
      env,
    );
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toBe("registered template fact_checker (validation, research)\n");
    const listed = await agents(env);
    expect(listed.map((t) => t.agentType)).toEqual([
      "analysis_specialist",
      "coordination_specialist",
      "fact_checker",
      "research_specialist",
      "synthesis_specialist",
    ]);
    expect(listed.find((t) => t.agentType === "fact_checker")!.capabilities).toEqual(["validation", "research"]);
  });
});
