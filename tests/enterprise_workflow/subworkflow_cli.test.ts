import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PROJECT_ROOT, runCli } from "../support/cli.js";
import { createTestSchema, type TestSchema } from "../support/database.js";

// Definitions whose children cannot run are refused when they load, by `workflow validate` and
// `workflow run` alike: exit 2, one line naming the problem, and no checkpoint written.

let db: TestSchema;
const CHILDREN_DIR = path.join(PROJECT_ROOT, "tests/enterprise_workflow/fixtures/children");

beforeAll(async () => {
  db = await createTestSchema();
});
afterAll(async () => {
  await db?.cleanup();
});

const orchestra = (args: string[]) =>
  runCli(args, {
    DATABASE_URL: db.databaseUrl,
    ORCHESTRA_DB_SCHEMA: db.schema,
    ORCHESTRA_MODEL: "offline",
    ORCHESTRA_WORKFLOWS_DIR: CHILDREN_DIR,
  });

async function savedRows(): Promise<number> {
  const client = new pg.Client({ connectionString: db.databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: string }>(`SELECT count(*) AS n FROM "${db.schema}".checkpoints`);
    return Number(rows[0]!.n);
  } catch {
    return 0;
  } finally {
    await client.end();
  }
}

describe("load-time limits on children", () => {
  it.each([
    [
      "a cycle between definitions",
      "cycle_a.yaml",
      /^orchestra: cycle between definitions: cycle_a → cycle_b → cycle_a; remove one of these subworkflow steps$/,
    ],
    [
      "an unknown workflow",
      "unknown_child.yaml",
      /^orchestra: unknown_child: step 'call': unknown workflow 'market_research'; use parallel_workflow, dynamic_agents, enterprise_workflow$/,
    ],
    [
      "depth 6",
      "depth_1.yaml",
      /^orchestra: depth_1 → depth_2 → depth_3 → depth_4 → depth_5: step 'deeper': depth_6 would run at depth 6, over the limit of 5/,
    ],
    [
      "a mapping of the wrong type",
      "wrong_mapping.yaml",
      /^orchestra: wrong_mapping: step 'study': inputMapping\.task '42' gives 42, the wrong type for parallel_workflow's task/,
    ],
    [
      "a map step's mapping of the wrong type",
      "wrong_map_mapping.yaml",
      /^orchestra: wrong_map_mapping: step 'studies': inputMapping\.task '42' gives 42, the wrong type for parallel_workflow's task/,
    ],
  ])("%s: validate exits 2 with one line", async (_, file, problem) => {
    const validated = await orchestra(["workflow", "validate", path.join(CHILDREN_DIR, file)]);
    expect(validated.code, validated.stderr).toBe(2);
    expect(validated.stdout).toBe("");
    expect(validated.stderr.trim().split("\n")).toHaveLength(1);
    expect(validated.stderr.trim()).toMatch(problem);
  });

  // Each CLI start loads every workflow's graph: one run per kind of refusal would only repeat the same path.
  it("run by name refuses the same way, and nothing is saved", async () => {
    const ran = await orchestra(["workflow", "run", "cycle_a", "--json"]);
    expect(ran.code, ran.stderr).toBe(2);
    expect(ran.stdout).toBe("");
    expect(ran.stderr.trim()).toBe(
      "orchestra: cycle between definitions: cycle_a → cycle_b → cycle_a; remove one of these subworkflow steps",
    );
    expect(await savedRows()).toBe(0);
  });

  it("depth 5 is within the limit", async () => {
    const validated = await orchestra(["workflow", "validate", path.join(CHILDREN_DIR, "depth_2.yaml")]);
    expect(validated.code, validated.stderr).toBe(0);
  });
});

describe("a parent thread on the CLI", () => {
  it("shows the child that asks and the children with their status; resume answers the child", {
    timeout: 240_000,
  }, async () => {
    const threadId = "delegating-cli";
    const ran = await orchestra(["workflow", "run", "delegating", "--thread", threadId, "--json"]);
    expect(ran.code, ran.stderr).toBe(0);
    expect(ran.stdout + ran.stderr).toMatch(/approval at delegate › sign_off: Approve 'sign_off' of child_approval\?/);
    expect(JSON.parse(ran.stdout.trim().split("\n").at(-1)!)).toMatchObject({ status: "WAITING_APPROVAL" });

    const shown = await orchestra(["show", threadId]);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toMatch(/WAITING_APPROVAL at delegate › sign_off/);
    expect(shown.stdout).toMatch(/Children\n {2}delegate +RUNNING +enterprise_workflow child_approval \(inline\)/);

    const resumed = await orchestra([
      "resume",
      threadId,
      "--approve",
      "--reviewer",
      "dana",
      "--role",
      "manager",
      "--json",
    ]);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(JSON.parse(resumed.stdout.trim().split("\n").at(-1)!)).toMatchObject({
      status: "COMPLETED",
      steps: { delegate: { status: "COMPLETED" } },
    });
  });
});
