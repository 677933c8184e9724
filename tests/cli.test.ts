import { mkdtemp, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestSchema, type TestSchema } from "./support/database.js";
import { finished, jsonResult, runCli, spawnCli } from "./support/cli.js";

// The CLI as a user runs it: child processes, real exit codes and output, real Postgres.

const TASK = "Choose a message broker for an event-sourced billing system";
const ESCAPE = /\u001b\[/;

let db: TestSchema;
let env: NodeJS.ProcessEnv;
let dir: string;

beforeAll(async () => {
  db = await createTestSchema();
  env = { ORCHESTRA_DB_SCHEMA: db.schema };
  dir = await mkdtemp(path.join(os.tmpdir(), "orchestra-cli-"));
});
afterAll(() => db?.cleanup());

async function schemaExists(schema: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: db.databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query("SELECT 1 FROM information_schema.schemata WHERE schema_name = $1", [schema]);
    return rows.length > 0;
  } finally {
    await client.end();
  }
}

describe("orchestra run", () => {
  it("runs to a completed report and prints a plain line per node and branch event", async () => {
    const result = await runCli(["run", TASK, "--review", "never"], env);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).not.toMatch(ESCAPE);
    const lines = result.stdout.split("\n");
    expect(lines[0]).toMatch(/^task_analyzer +adaptive mode: 5 branches planned, 3 at a time/);
    for (const node of ["research_branch_alpha", "research_branch_beta", "research_branch_gamma", "analysis_branch_primary", "analysis_branch_secondary"]) {
      expect(lines.some((l) => l.startsWith(`  ✓ ${node}`))).toBe(true);
    }
    expect(result.stdout).toMatch(/^branch_merger +merged 5 branches/m);
    expect(result.stdout).toContain("# Workflow report");
    expect(result.stdout).toContain("message broker");
    expect(lines.filter(Boolean).at(-1)).toMatch(/^completed: thread [0-9a-f-]{36}, quality 0\.\d{3}$/);
  });

  it("with --json, ends stdout with the result object and sends progress to stderr", async () => {
    const result = await runCli(["run", TASK, "--review", "never", "--json", "--thread", "cli-json"], env);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout.trim().split("\n")).toHaveLength(1);
    const out = jsonResult(result);
    expect(out).toMatchObject({ threadId: "cli-json", status: "completed", next: [] });
    expect(out.qualityScore).toBeGreaterThanOrEqual(0.8);
    expect(out.report).toContain("## Quality");
    expect(result.stderr).toMatch(/^quality_validator +score/m);
  });

  it("reads a task queue from --task-file: two tasks plan ten branches", async () => {
    const file = path.join(dir, "tasks.json");
    await writeFile(
      file,
      JSON.stringify([
        { description: "Assess demand for cargo e-bikes in Lyon", domain: "mobility", deadline: "2026-12-01" },
        { description: "Estimate the cost of a city-wide charging network", type: "analysis", complexity: 0.5 },
      ]),
    );
    const result = await runCli(["run", "--task-file", file, "--review", "never"], env);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/10 branches planned/);
    expect(result.stdout).toContain("cargo e-bikes");
  });

  it("outside a terminal, stops at the review point and prints the resume command; a reject exits 1", async () => {
    const paused = await runCli(["run", TASK, "--thread", "cli-review"], env);
    expect(paused.code, paused.stderr).toBe(0);
    expect(paused.stdout).toContain("paused for review at sync_point_manager");
    expect(paused.stdout).toContain("resume cli-review --approve | --reject | --feedback");

    const rejected = await runCli(["resume", "cli-review", "--reject", "--json"], env);
    expect(rejected.code).toBe(1);
    expect(jsonResult(rejected)).toMatchObject({ status: "rejected", next: [], report: null });
  });

  it("has --help with examples on every command", async () => {
    for (const args of [["--help"], ["run", "--help"], ["resume", "--help"]]) {
      const result = await runCli(args, env);
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(/Usage: orchestra/);
    }
    expect((await runCli(["run", "--help"], env)).stdout).toContain("Examples:");
    expect((await runCli(["resume", "--help"], env)).stdout).toContain("Examples:");
  });
});

describe("usage and input errors exit 2 with one line, and write nothing", () => {
  const untouched = `t_untouched_${process.pid}_${Date.now()}`;
  const cases: [string, string[], RegExp][] = [
    ["an empty task", ["run", ""], /invalid input: task: must not be empty/],
    ["a 100 kB task", ["run", "x".repeat(100_000)], /task: must be at most 20000 characters/],
    ["an unknown --review value", ["run", TASK, "--review", "sometimes"], /--review.*sometimes.*always, never/s],
    ["a malformed --model", ["run", TASK, "--model", "gpt4"], /invalid configuration: model: must be 'offline' or 'openai:<model-name>'/],
    ["both a task and --task-file", ["run", TASK, "--task-file", "x.json"], /give a TASK or --task-file, not both/],
    ["a missing task file", ["run", "--task-file", "/nonexistent/tasks.json"], /cannot read --task-file .*ENOENT/],
    ["a negative --max-retries", ["run", TASK, "--max-retries", "-1"], /maxRetries/],
    ["an unknown command", ["frobnicate"], /unknown command 'frobnicate'/],
  ];
  it.each(cases)("%s", async (_name, args, message) => {
    const result = await runCli(args, { ORCHESTRA_DB_SCHEMA: untouched });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(await schemaExists(untouched)).toBe(false);
  });

  it("a task file that is not JSON, or has the wrong shape or unknown fields", async () => {
    const notJson = path.join(dir, "bad.json");
    await writeFile(notJson, "{ tasks: nope");
    const wrongShape = path.join(dir, "shape.json");
    await writeFile(wrongShape, JSON.stringify({ taskQueue: "research things" }));
    const unknownField = path.join(dir, "unknown.json");
    await writeFile(unknownField, JSON.stringify([{ description: "ok", priority: "high" }]));
    // A 1 MB task cannot travel as an argument (the OS caps one at 128 kB): it comes in a file.
    const huge = path.join(dir, "huge.json");
    await writeFile(huge, JSON.stringify([{ description: "x".repeat(1_000_000) }]));
    const expectations: [string, RegExp][] = [
      [huge, /taskQueue.0.description: must be at most 20000 characters/],
      [notJson, /is not valid JSON/],
      [wrongShape, /taskQueue: /],
      [unknownField, /taskQueue.0: Unrecognized key: "priority"/],
    ];
    for (const [file, message] of expectations) {
      const result = await runCli(["run", "--task-file", file], { ORCHESTRA_DB_SCHEMA: untouched });
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(message);
    }
    expect(await schemaExists(untouched)).toBe(false);
  });

  it("a malformed ORCHESTRA_MODEL or ORCHESTRA_OFFLINE_FAULTS", async () => {
    const model = await runCli(["run", TASK], { ORCHESTRA_DB_SCHEMA: untouched, ORCHESTRA_MODEL: "claude" });
    expect(model.code).toBe(2);
    expect(model.stderr).toMatch(/ORCHESTRA_MODEL/);
    const faults = await runCli(["run", TASK, "--review", "never"], { ORCHESTRA_DB_SCHEMA: untouched, ORCHESTRA_OFFLINE_FAULTS: "{not json" });
    expect(faults.code).toBe(2);
    expect(faults.stderr).toMatch(/invalid ORCHESTRA_OFFLINE_FAULTS: not JSON/);
    expect(await schemaExists(untouched)).toBe(false);
  });

  it("resume of an unknown thread, of a finished thread, and with two decisions", async () => {
    const unknown = await runCli(["resume", "no-such-thread", "--approve"], env);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/no thread no-such-thread/);

    const done = await runCli(["run", TASK, "--review", "never", "--thread", "cli-done", "--json"], env);
    expect(jsonResult(done).status).toBe("completed");
    const again = await runCli(["resume", "cli-done", "--approve"], env);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/thread cli-done has already finished \(completed\)/);

    const reused = await runCli(["run", TASK, "--thread", "cli-done"], env);
    expect(reused.code).toBe(2);
    expect(reused.stderr).toMatch(/thread cli-done already exists: resume it with/);

    const both = await runCli(["resume", "cli-done", "--approve", "--reject"], env);
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/at most one of --approve, --reject, --feedback/);
  });
});
