import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestSchema, type TestSchema } from "./support/database.js";
import { jsonResult, runCli } from "./support/cli.js";

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
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
  await db?.cleanup();
});

describe("orchestra run", () => {
  it("runs to a completed report and prints a plain line per node and branch event, and per saved step", async () => {
    const result = await runCli(["run", TASK, "--review", "never"], env);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).not.toMatch(ESCAPE);
    const all = result.stdout.split("\n");
    const steps = all.filter((l) => l.startsWith("  · step "));
    expect(steps[0]).toMatch(/^  · step 0 saved at \d+\.\ds; next task_analyzer$/);
    expect(steps).toContainEqual(expect.stringMatching(/^  · step 3 saved at .*: 3 done, 2 queued; next sync_point_manager$/));
    const lines = all.filter((l) => !l.startsWith("  · step "));
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

  it("has --help with examples on every command and subcommand", async () => {
    const commands = [[], ["db"], ["run"], ["resume"], ["replay"], ["threads"], ["show"], ["history"], ["report"], ["graph"], ["db", "status"], ["db", "migrate"]];
    const results = await Promise.all(commands.map((command) => runCli([...command, "--help"], env)));
    results.forEach((result, i) => {
      expect(result.code, commands[i]!.join(" ")).toBe(0);
      expect(result.stdout).toMatch(new RegExp(`^Usage: orchestra ${commands[i]!.join(" ")}`));
      expect(result.stdout, commands[i]!.join(" ")).toContain("Examples:");
    });
    const db = await runCli(["db", "--help"], env);
    expect(db.stdout).toMatch(/status \[options\] +Show where the checkpointer lives/);
  });
});
