import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TemplateSummary } from "../../nodes/dynamic_agents/summary.js";
import { jsonResult, runCli } from "../support/cli.js";
import { createTestSchema, type TestSchema } from "../support/database.js";

// The dynamic_agents workflow through `orchestra` as a user runs it: child processes, real exit
// codes and output, real Postgres (DATABASE_URL, or the embedded one when it is unset).

const TASKS = [
  { description: "Survey open-source vector databases for a 10M-document search service", type: "research", complexity: 0.9 },
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

async function agents(): Promise<TemplateSummary[]> {
  const result = await runCli(["agents", "--json"], env);
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as TemplateSummary[];
}

describe("orchestra agents", () => {
  it("lists every template with its capabilities, and counts the agents a run creates with their quality", async () => {
    const before = await agents();
    expect(before.map((t) => [t.agentType, t.capabilities, t.creations, t.successRate, t.averageQuality])).toEqual([
      ["analysis_specialist", ["analysis"], 0, 1, null],
      ["coordination_specialist", ["coordination"], 0, 1, null],
      ["research_specialist", ["research"], 0, 1, null],
      ["synthesis_specialist", ["synthesis"], 0, 1, null],
    ]);

    const run = await runCli(["run", "--workflow", "dynamic_agents", "--task-file", await taskFile("tasks.json", { taskQueue: TASKS }), "--review", "never", "--json"], env);
    expect(run.code, run.stderr).toBe(0);
    expect(jsonResult(run).status).toBe("completed");

    const after = Object.fromEntries((await agents()).map((t) => [t.agentType, t]));
    expect(after.research_specialist).toMatchObject({ creations: 2, successRate: 1 });
    expect(after.analysis_specialist).toMatchObject({ creations: 1, successRate: 1 });
    expect(after.coordination_specialist).toMatchObject({ creations: 1, successRate: 1 });
    expect(after.synthesis_specialist).toMatchObject({ creations: 0, averageQuality: null });
    for (const type of ["research_specialist", "analysis_specialist", "coordination_specialist"]) {
      expect(after[type]!.averageQuality).toBeGreaterThan(0);
      expect(after[type]!.averageQuality).toBeLessThanOrEqual(1);
    }

    const table = await runCli(["agents"], env);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout.split("\n")[0]).toMatch(/^template +created +success +quality +capabilities$/);
    expect(table.stdout).toMatch(/^research_specialist +2 +100% +\d\.\d{3} +research$/m);
    expect(table.stdout).toMatch(/^synthesis_specialist +0 +100% +- +synthesis$/m);
  });
});
