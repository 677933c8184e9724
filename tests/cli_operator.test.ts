import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { maskDatabaseUrl } from "../checkpoints/index.js";
import { createTestSchema, type TestSchema } from "./support/database.js";
import { jsonResult, runCli } from "./support/cli.js";

// The operator's commands on threads made by `orchestra run`: child processes on a real Postgres.

const TASK = "Choose a message broker for an event-sourced billing system";
const ESCAPE = /\u001b\[/;

let db: TestSchema;
let env: NodeJS.ProcessEnv;
let dir: string;
let client: pg.Client;

beforeAll(async () => {
  db = await createTestSchema();
  env = { ORCHESTRA_DB_SCHEMA: db.schema };
  dir = await mkdtemp(path.join(os.tmpdir(), "orchestra-operator-"));
  client = new pg.Client({ connectionString: db.databaseUrl });
  await client.connect();
  // Three threads to inspect: one paused for review, one completed, one rejected.
  const [paused, completed, rejected] = await Promise.all([
    runCli(["run", TASK, "--thread", "op-paused", "--json"], env),
    runCli(["run", "Plan a data warehouse migration", "--thread", "op-done", "--review", "never", "--json"], env),
    runCli(["run", "Pick a feature-flag service", "--thread", "op-rejected", "--json"], env),
  ]);
  expect(jsonResult(paused).status).toBe("interrupted");
  expect(jsonResult(completed).status).toBe("completed");
  expect(jsonResult(rejected).status).toBe("interrupted");
  expect((await runCli(["resume", "op-rejected", "--reject"], env)).code).toBe(1);
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
  await client?.end();
  await db?.cleanup();
});

const run = async (args: string[], code = 0) => {
  const result = await runCli(args, env);
  expect(result.code, `${args.join(" ")}\n${result.stderr}`).toBe(code);
  return result;
};
const json = async (args: string[]) => JSON.parse((await run([...args, "--json"])).stdout);

/** Every row the checkpointer holds for a thread: a command that writes nothing leaves it unchanged. */
async function rowsOf(threadId: string): Promise<number> {
  const { rows } = await client.query(
    `SELECT (SELECT count(*) FROM "${db.schema}".checkpoints WHERE thread_id = $1)
          + (SELECT count(*) FROM "${db.schema}".checkpoint_writes WHERE thread_id = $1)
          + (SELECT count(*) FROM "${db.schema}".checkpoint_blobs WHERE thread_id = $1) AS n`,
    [threadId],
  );
  return Number(rows[0].n);
}

describe("inspecting threads", () => {
  it("threads lists them newest first with status, task, times and review point; filters and limits", async () => {
    const all = await json(["threads"]);
    expect(all.map((t: { threadId: string }) => t.threadId).sort()).toEqual(["op-done", "op-paused", "op-rejected"]);
    const byId = Object.fromEntries(all.map((t: { threadId: string }) => [t.threadId, t]));
    expect(byId["op-paused"]).toMatchObject({ status: "interrupted", reviewPoint: "sync_point_manager", task: TASK });
    expect(byId["op-done"]).toMatchObject({ status: "completed", reviewPoint: null });
    expect(byId["op-rejected"]).toMatchObject({ status: "rejected" });
    // op-rejected was written last.
    expect(all[0].threadId).toBe("op-rejected");
    for (const t of all) expect(t.updatedAt >= t.createdAt).toBe(true);

    expect((await json(["threads", "--status", "interrupted"])).map((t: { threadId: string }) => t.threadId)).toEqual([
      "op-paused",
    ]);
    expect(await json(["threads", "--limit", "1"])).toHaveLength(1);

    const text = (await run(["threads"])).stdout;
    expect(text).toMatch(/^THREAD +WORKFLOW +STATUS +REVIEW +UPDATED +CREATED +TASK$/m);
    expect(text).toMatch(
      /^op-paused +parallel_workflow +interrupted +sync_point_manager +\d{4}-\d\d-\d\d \d\d:\d\d:\d\d +\d{4}-.* Choose a message broker/m,
    );
    expect(text).not.toMatch(ESCAPE);
  });

  it("show summarises mode, branches, sync, quality, timeline and report", async () => {
    const done = await json(["show", "op-done"]);
    expect(done).toMatchObject({
      threadId: "op-done",
      status: "completed",
      mode: "adaptive",
      revision: 0,
      reviewable: null,
    });
    expect(done.branches).toHaveLength(5);
    for (const b of done.branches) expect(b).toMatchObject({ status: "success", attempt: 1, error: null });
    expect(done.sync).toMatchObject({ syncPoint: "pre_merge", progress: 1, status: "completed" });
    expect(done.quality.score).toBeGreaterThanOrEqual(0.8);
    expect(done.quality.route).toBe("quality_approved");
    expect(done.timeline.at(-1).event).toBe("workflow_completed");
    expect(done.report).toContain("# Workflow report");

    const text = (await run(["show", "op-done"])).stdout;
    for (const heading of ["Branches", "Sync", "Quality", "Timeline", "Report"])
      expect(text).toMatch(new RegExp(`^${heading}$`, "m"));
    expect(text).toMatch(/^Thread op-done — completed, quality 0\.\d{3}$/m);
    expect(text).toMatch(/^  b1-research-technical +research_branch_alpha +success +0\.\d{3}/m);
    expect(text).toMatch(/^  pre_merge: 100% succeeded \(completed\)/m);
    expect(text).toMatch(/rubric: coverage \d\.\d\d, evidence/);

    // A rejected thread never reaches validation nor a report: show says so, not "yet".
    const rejected = (await run(["show", "op-rejected"])).stdout;
    expect(rejected).not.toMatch(/not \w+ yet/);
    expect(rejected).toMatch(/^Quality\n  not validated: the thread was rejected at sync_point_manager by \S+ first$/m);
    expect(rejected).toMatch(/^Report\n  not written: the thread was rejected at sync_point_manager by \S+ first$/m);

    // Paused at the sync point, show gives the sync progress the reviewer sees and the editable document.
    const paused = await json(["show", "op-paused"]);
    expect(paused).toMatchObject({ status: "interrupted", reviewPoint: "sync_point_manager", sync: { progress: 1 } });
    expect(Object.keys(paused.reviewable.branches)).toHaveLength(5);
  });

  it("history lists every checkpoint with the nodes and branches that wrote it", async () => {
    const entries = await json(["history", "op-done"]);
    expect(entries[0]).toMatchObject({ step: -1, source: "input", nodes: [], next: ["__start__"] });
    expect(entries.map((e: { step: number }) => e.step)).toEqual(entries.map((_: unknown, i: number) => i - 1));
    const wave1 = entries.find((e: { branches: string[] }) => e.branches.includes("b1-research-technical"));
    expect(wave1.nodes.sort()).toEqual(["research_branch_alpha", "research_branch_beta", "research_branch_gamma"]);
    expect(wave1.branches.sort()).toEqual(["b1-research-technical", "b2-research-market", "b3-research-competitive"]);
    expect(entries.at(-1)).toMatchObject({ nodes: ["final_integrator"], next: [] });
    expect(entries.every((e: { onHeadBranch: boolean }) => e.onHeadBranch)).toBe(true);

    const text = (await run(["history", "op-done"])).stdout;
    expect(text).toMatch(/^STEP +CHECKPOINT +TIME +WROTE +NEXT +REPLAY FROM$/m);
    expect(text).toMatch(/^2 +[0-9a-f-]{36} +\d\d:\d\d:\d\d +parallel_coordinator +3 research branches +wave$/m);
    expect(text).toMatch(/^3 +[0-9a-f-]{36} +\d\d:\d\d:\d\d +3 research branches +sync_point_manager +review point$/m);
    for (const line of text.split("\n")) expect(line.length, line).toBeLessThanOrEqual(120);
  });

  it("report prints the final report, or writes it with --out", async () => {
    const { report } = await json(["show", "op-done"]);
    expect((await run(["report", "op-done"])).stdout).toBe(report + "\n");
    const file = path.join(dir, "report.md");
    expect((await run(["report", "op-done", "--out", file])).stdout).toBe(`wrote ${file}\n`);
    expect(await readFile(file, "utf8")).toBe(report);
  });

  it("graph prints the diagram as mermaid, ascii or JSON", async () => {
    expect((await run(["graph"])).stdout).toMatch(/^graph TD;/m);
    const ascii = (await run(["graph", "--format", "ascii"])).stdout;
    expect(ascii).toContain("parallel_coordinator\n  ├┄▶ research_branch_alpha");
    expect(ascii).toContain("┄▶ branch_merger  (proceed_to_merge | conditional_proceed | recovery_exhausted)");
    expect(ascii).toContain("load_balancer\n  └─▶ parallel_coordinator");
    const { nodes, edges } = await json(["graph"]);
    expect(nodes).toContain("sync_point_manager");
    expect(edges).toContainEqual({ source: "quality_validator", target: "final_integrator", conditional: true });
  });
});

describe("acting on threads", () => {
  it("resume --edit applies the reviewer's edit with updateState at either review point, and the node asks again", async () => {
    const before = await json(["show", "op-paused"]);
    const edit = structuredClone(before.reviewable);
    edit.branches["b2-research-market"].summary = "Demand is concentrated in mid-market fintechs";
    const file = path.join(dir, "edit.json");
    await writeFile(file, JSON.stringify(edit));

    const edited = jsonResult(await run(["resume", "op-paused", "--edit", file, "--reviewer", "bob", "--json"]));
    expect(edited).toMatchObject({ status: "interrupted", reviewPoint: "sync_point_manager" });
    const after = await json(["show", "op-paused"]);
    expect(after.reviewable.branches["b2-research-market"].summary).toBe(
      "Demand is concentrated in mid-market fintechs",
    );
    expect(after.timeline).toContainEqual(
      expect.objectContaining({ event: "state_edited", reviewer: "bob", fields: ["b2-research-market"] }),
    );
    const history = await json(["history", "op-paused"]);
    expect(history.at(-1)).toMatchObject({ source: "update", next: ["sync_point_manager"] });
    // The edit is part of the review: show lists it under Reviews.
    expect(after.reviews).toEqual([
      expect.objectContaining({
        point: "sync_point_manager",
        action: "edit",
        reviewer: "bob",
        fields: ["b2-research-market"],
      }),
    ]);
    expect((await run(["show", "op-paused"])).stdout).toMatch(
      /^Reviews\n  \d{4}-\d\d-\d\d \d\d:\d\d:\d\d  sync_point_manager: edit by bob \(b2-research-market\)$/m,
    );

    expect(jsonResult(await run(["resume", "op-paused", "--approve", "--json"])).reviewPoint).toBe("quality_validator");

    // At the validator the merged syntheses are what a reviewer edits; the report carries the edit.
    const merged = (await json(["show", "op-paused"])).reviewable;
    expect(Object.keys(merged)).toEqual(["point", "research", "analysis"]);
    merged.research.summary = "Kafka fits the billing system's replay needs best";
    await writeFile(file, JSON.stringify(merged));
    expect(jsonResult(await run(["resume", "op-paused", "--edit", file, "--json"])).reviewPoint).toBe(
      "quality_validator",
    );
    const done = jsonResult(await run(["resume", "op-paused", "--approve", "--json"]));
    expect(done.status).toBe("completed");
    expect(done.report).toContain("Kafka fits the billing system's replay needs best");
  });

  it("replay forks at an earlier checkpoint and runs on, leaving the original history intact", async () => {
    const original = await json(["history", "op-done"]);
    const merged = original.find((e: { nodes: string[] }) => e.nodes.includes("branch_merger"));
    const result = jsonResult(
      await run(["replay", "op-done", "--checkpoint", merged.checkpointId, "--review", "always", "--json"]),
    );
    // The fork's settings ask for review, so the replay pauses at the validator.
    expect(result).toMatchObject({ status: "interrupted", reviewPoint: "quality_validator" });

    const history = await json(["history", "op-done"]);
    const ids = new Set(history.map((e: { checkpointId: string }) => e.checkpointId));
    for (const e of original) expect(ids.has(e.checkpointId)).toBe(true);
    const abandoned = history.filter((e: { onHeadBranch: boolean }) => !e.onHeadBranch);
    expect(abandoned.map((e: { checkpointId: string }) => e.checkpointId)).toEqual(
      original
        .filter((e: { step: number }) => e.step > merged.step)
        .map((e: { checkpointId: string }) => e.checkpointId),
    );
    expect(history.find((e: { source: string }) => e.source === "fork")).toMatchObject({
      parentId: merged.checkpointId,
    });

    expect(jsonResult(await run(["resume", "op-done", "--approve", "--json"])).status).toBe("completed");
  });
});

describe("db", () => {
  it("status shows where the checkpoints live without creating anything; migrate sets up the tables", async () => {
    const fresh = { ...env, ORCHESTRA_DB_SCHEMA: `t_fresh_${process.pid}` };
    const status = await runCli(["db", "status", "--json"], fresh);
    expect(status.code, status.stderr).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({
      location: maskDatabaseUrl(db.databaseUrl),
      schema: fresh.ORCHESTRA_DB_SCHEMA,
      migrations: null,
    });
    const { rows } = await client.query("SELECT 1 FROM information_schema.schemata WHERE schema_name = $1", [
      fresh.ORCHESTRA_DB_SCHEMA,
    ]);
    expect(rows).toHaveLength(0);
    try {
      const migrate = await runCli(["db", "migrate"], fresh);
      expect(migrate.code, migrate.stderr).toBe(0);
      expect(migrate.stdout).toMatch(
        new RegExp(
          `^tables ready in schema ${fresh.ORCHESTRA_DB_SCHEMA} at postgres://.* \\(\\d+ checkpoint migrations applied\\)$`,
          "m",
        ),
      );
      expect(JSON.parse((await runCli(["db", "status", "--json"], fresh)).stdout)).toMatchObject({
        threads: 0,
        checkpoints: 0,
      });
    } finally {
      await client.query(`DROP SCHEMA IF EXISTS "${fresh.ORCHESTRA_DB_SCHEMA}" CASCADE`);
    }
    const text = (await run(["db", "status"])).stdout;
    expect(text).toMatch(/^tables: +set up \(\d+ migrations applied\)$/m);
    expect(text).toMatch(/^threads: +\d+$/m);
  });

  it("an unreachable database is one line with the password masked and a hint, exit 1", async () => {
    const result = await runCli(["threads"], { DATABASE_URL: "postgres://orchestra:s3cret-pw@127.0.0.1:1/orchestra" });
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split("\n")).toEqual([
      expect.stringMatching(
        /^orchestra: Cannot reach the database at postgres:\/\/orchestra:\*\*\*@127\.0\.0\.1:1\/orchestra \(.*\); start it with `docker compose up -d postgres`, or unset DATABASE_URL to use the embedded Postgres$/,
      ),
    ]);
    expect(result.stderr).not.toContain("s3cret-pw");
  });
});

describe("operator errors exit 2 with one line naming the problem and the fix, and write nothing", () => {
  it.each([
    [
      "show of an unknown thread",
      ["show", "no-such-thread"],
      /no thread no-such-thread in the checkpointer: check the id \('orchestra threads' lists them\)/,
    ],
    ["history of an unknown thread", ["history", "no-such-thread"], /no thread no-such-thread/],
    ["report of an unknown thread", ["report", "no-such-thread"], /no thread no-such-thread/],
    [
      "replay of an unknown thread",
      ["replay", "no-such-thread", "--checkpoint", "1f0c6a7e-0000-6000-8000-000000000000"],
      /no thread no-such-thread/,
    ],
    ["replay without --checkpoint", ["replay", "op-rejected"], /required option '--checkpoint <id>' not specified/],
    ["an unknown --status", ["threads", "--status", "paused"], /--status.*paused.*interrupted, completed/s],
    ["a bad --limit", ["threads", "--limit", "0"], /--limit must be a positive integer, got '0'/],
    ["an unknown graph format", ["graph", "--format", "svg"], /--format.*svg.*mermaid, ascii/s],
  ])("%s", async (_name, args, message) => {
    const result = await runCli(args, env);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it("a resume of a thread that is not paused, a report of an unfinished one, a checkpoint that does not exist", async () => {
    const rows = await rowsOf("op-rejected");
    const cases: [string[], RegExp][] = [
      [
        ["resume", "op-rejected", "--approve"],
        /thread op-rejected has already finished \(rejected\): nothing to resume/,
      ],
      [["report", "op-rejected"], /thread op-rejected has no final report: it is rejected/],
      [
        ["replay", "op-rejected", "--checkpoint", "1f0c6a7e-0000-6000-8000-000000000000"],
        /thread op-rejected has no checkpoint 1f0c6a7e-0000-6000-8000-000000000000: `orchestra history op-rejected` lists them/,
      ],
    ];
    for (const [args, message] of cases) {
      const result = await runCli(args, env);
      expect(result.code, args.join(" ")).toBe(2);
      expect(result.stderr).toMatch(message);
    }
    const last = (await json(["history", "op-rejected"])).at(-1);
    const atEnd = await runCli(["replay", "op-rejected", "--checkpoint", last.checkpointId], env);
    expect(atEnd.code).toBe(2);
    expect(atEnd.stderr).toMatch(/is where the thread finished: nothing runs after it, pick an earlier one/);
    expect(await rowsOf("op-rejected")).toBe(rows);
  });
});
