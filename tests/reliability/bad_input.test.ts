import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestSchema, type TestSchema } from "../support/database.js";
import { jsonResult, runCli, type CliResult } from "../support/cli.js";
import { scenario } from "./tally.js";

// Bad input, each through the CLI as a user would give it: a clear error, exit code 2, and no
// row written anywhere.

const TASK = "Choose a message broker for an event-sourced billing system";

let db: TestSchema;
// A pool: the cases below run concurrently, and one client cannot take concurrent queries.
let client: pg.Pool;
let dir: string;

beforeAll(async () => {
  db = await createTestSchema();
  client = new pg.Pool({ connectionString: db.databaseUrl, max: 4 });
  dir = await mkdtemp(path.join(os.tmpdir(), "orchestra-bad-input-"));
  const files: Record<string, string> = {
    "not-json.json": "{ tasks: nope",
    "wrong-shape.json": JSON.stringify({ taskQueue: "research things" }),
    "unknown-field.json": JSON.stringify([{ description: "ok", priority: "high" }]),
    // A 1 MB task cannot travel as an argument (the OS caps one at 128 kB): it comes in a file.
    "huge.json": JSON.stringify([{ description: "x".repeat(1_000_000) }]),
  };
  await Promise.all(Object.entries(files).map(([name, text]) => writeFile(path.join(dir, name), text)));
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
  await client?.end();
  await db?.cleanup();
});

async function schemaExists(schema: string): Promise<boolean> {
  const { rows } = await client.query("SELECT 1 FROM information_schema.schemata WHERE schema_name = $1", [schema]);
  return rows.length > 0;
}

/** Checkpoints and writes stored for a thread in this file's schema. */
async function rowsOf(threadId: string): Promise<number> {
  const { rows } = await client.query<{ n: number }>(
    `SELECT (SELECT count(*) FROM "${db.schema}".checkpoints WHERE thread_id = $1)
          + (SELECT count(*) FROM "${db.schema}".checkpoint_writes WHERE thread_id = $1) AS n`,
    [threadId],
  );
  return Number(rows[0]!.n);
}

function expectUsageError(result: CliResult, message: RegExp) {
  expect(result.code, result.stderr).toBe(2);
  expect(result.stderr).toMatch(message);
  expect(result.stderr).not.toMatch(/\n\s+at /);
  expect(result.stdout).toBe("");
}

const file = (name: string) => path.join(dir, name);

describe("bad input to a new run: exit 2, one clear error, nothing written", () => {
  const cases: [string, () => string[], RegExp, NodeJS.ProcessEnv?][] = [
    ["an empty task", () => ["run", ""], /invalid input: task: must not be empty/],
    ["a 100 kB task", () => ["run", "x".repeat(100_000)], /task: must be at most 20000 characters/],
    [
      "a 1 MB task in a file",
      () => ["run", "--task-file", file("huge.json")],
      /taskQueue.0.description: must be at most 20000 characters/,
    ],
    ["a task file that is not JSON", () => ["run", "--task-file", file("not-json.json")], /is not valid JSON/],
    ["a task file with the wrong shape", () => ["run", "--task-file", file("wrong-shape.json")], /taskQueue: /],
    [
      "a task file with unknown fields",
      () => ["run", "--task-file", file("unknown-field.json")],
      /taskQueue.0: Unrecognized key: "priority"/,
    ],
    [
      "a missing task file",
      () => ["run", "--task-file", "/nonexistent/tasks.json"],
      /--task-file \/nonexistent\/tasks\.json does not exist: check the path/,
    ],
    [
      "both a task and --task-file",
      () => ["run", TASK, "--task-file", "x.json"],
      /give a TASK or --task-file, not both/,
    ],
    ["an unknown --review value", () => ["run", TASK, "--review", "sometimes"], /--review.*sometimes.*always, never/s],
    [
      "a malformed --model",
      () => ["run", TASK, "--model", "gpt4"],
      /invalid configuration: model: must be 'offline' or 'openai:<model-name>'/,
    ],
    ["a negative --max-retries", () => ["run", TASK, "--max-retries", "-1"], /maxRetries/],
    ["an unknown command", () => ["frobnicate"], /unknown command 'frobnicate'/],
    [
      "a malformed ORCHESTRA_MODEL",
      () => ["run", TASK],
      /invalid ORCHESTRA_MODEL 'claude'/,
      { ORCHESTRA_MODEL: "claude" },
    ],
    [
      "ORCHESTRA_OFFLINE_FAULTS that is not JSON",
      () => ["run", TASK, "--review", "never"],
      /invalid ORCHESTRA_OFFLINE_FAULTS: not JSON/,
      { ORCHESTRA_OFFLINE_FAULTS: "{not json" },
    ],
    [
      "a DATABASE_URL that is not postgres://",
      () => ["run", TASK, "--review", "never"],
      /DATABASE_URL must be a postgres:\/\/ or postgresql:\/\/ URL, got mysql:\/\/admin:\*\*\*@db.example.com\/app/,
      { DATABASE_URL: "mysql://admin:hunter2@db.example.com/app" },
    ],
    [
      "a DATABASE_URL that is not a URL",
      () => ["run", TASK, "--review", "never"],
      /DATABASE_URL is not a valid URL/,
      { DATABASE_URL: "postgres://admin:hunter2@[::1/app" },
    ],
  ];
  it.concurrent.each(cases)("%s", (name, args, message, env = {}) =>
    scenario("bad input", name, async (figures) => {
      // A schema of this case's own that no command may create: one that opened the database
      // for writing would. Its own, so a case that writes fails alone.
      const untouched = `t_untouched_${randomBytes(6).toString("hex")}`;
      try {
        figures.faults = 1;
        const result = await runCli(args(), { ORCHESTRA_DB_SCHEMA: untouched, ...env });
        expectUsageError(result, message);
        expect(result.stderr).not.toContain("hunter2");
        expect(await schemaExists(untouched)).toBe(false);
      } finally {
        await client.query(`DROP SCHEMA IF EXISTS "${untouched}" CASCADE`);
      }
    }),
  );
});

describe("bad resumes: exit 2, one clear error, nothing written", () => {
  const env = () => ({ ORCHESTRA_DB_SCHEMA: db.schema });

  it("of a thread that does not exist", () =>
    scenario("bad input", "resume of a thread that does not exist", async (figures) => {
      figures.faults = 1;
      expectUsageError(
        await runCli(["resume", "no-such-thread", "--approve"], env()),
        /no thread no-such-thread in the checkpointer/,
      );
      expect(await rowsOf("no-such-thread")).toBe(0);
    }));

  it("of a completed thread, with two decisions, and a run reusing its id", async () => {
    const done = await runCli(["run", TASK, "--review", "never", "--thread", "bad-done", "--json"], env());
    expect(jsonResult(done).status).toBe("completed");
    const rows = await rowsOf("bad-done");

    await scenario("bad input", "resume of a completed thread", async (figures) => {
      figures.faults = 1;
      expectUsageError(
        await runCli(["resume", "bad-done"], env()),
        /thread bad-done has already finished \(completed\): nothing to resume/,
      );
    });
    await scenario("bad input", "resume with two decisions", async (figures) => {
      figures.faults = 1;
      expectUsageError(
        await runCli(["resume", "bad-done", "--approve", "--reject"], env()),
        /at most one of --approve, --reject, --feedback/,
      );
    });
    await scenario("bad input", "run reusing a thread id", async (figures) => {
      figures.faults = 1;
      expectUsageError(
        await runCli(["run", TASK, "--thread", "bad-done"], env()),
        /thread bad-done already exists: resume it with/,
      );
    });
    expect(await rowsOf("bad-done")).toBe(rows);
  });

  it("an edit file that breaks the state's schema, or is not JSON, or changes nothing", async () => {
    const paused = await runCli(["run", TASK, "--thread", "bad-edit", "--json"], env());
    expect(jsonResult(paused).reviewPoint).toBe("sync_point_manager");
    const { reviewable } = JSON.parse((await runCli(["show", "bad-edit", "--json"], env())).stdout);
    const rows = await rowsOf("bad-edit");
    const badFinding = structuredClone(reviewable);
    badFinding.branches["b1-research-technical"].findings[0].confidence = 7;
    const noFindings = structuredClone(reviewable);
    noFindings.branches["b2-research-market"].findings = [];
    const unknownBranch = {
      point: "sync_point_manager",
      branches: { "b9-invented": reviewable.branches["b1-research-technical"] },
    };
    const cases: [string, string, RegExp][] = [
      ["an edit file that is not JSON", "{ not json", /--edit .* is not valid JSON/],
      [
        "an edit file for the other review point",
        JSON.stringify({ point: "quality_validator", research: {}, analysis: {} }),
        /the edit does not fit the review at sync_point_manager: point: /,
      ],
      [
        "an edit file with unknown fields",
        JSON.stringify({ ...reviewable, score: 1 }),
        /the edit does not fit the review at sync_point_manager: document: Unrecognized key: "score"/,
      ],
      [
        "an edit file naming a branch that has no result",
        JSON.stringify(unknownBranch),
        /the edit names branches that have no successful result to edit: b9-invented/,
      ],
      [
        "an edit file with a confidence out of range",
        JSON.stringify(badFinding),
        /branches.b1-research-technical.findings.0.confidence: Too big/,
      ],
      [
        "an edit file with no findings for a branch",
        JSON.stringify(noFindings),
        /branches.b2-research-market.findings: Too small/,
      ],
      [
        "an edit file that changes nothing",
        JSON.stringify(reviewable),
        /the edit changes nothing at sync_point_manager: nothing written/,
      ],
    ];
    for (const [i, [name, content, message]] of cases.entries()) {
      await scenario("bad input", name, async (figures) => {
        await writeFile(file(`edit-${i}.json`), content);
        figures.faults = 1;
        expectUsageError(await runCli(["resume", "bad-edit", "--edit", file(`edit-${i}.json`)], env()), message);
      });
    }
    expectUsageError(
      await runCli(["resume", "bad-edit", "--edit", file("missing.json")], env()),
      /--edit .*missing\.json does not exist: check the path/,
    );
    expect(await rowsOf("bad-edit")).toBe(rows);
  });
});
