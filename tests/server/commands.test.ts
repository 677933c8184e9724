import { randomUUID } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { maskDatabaseUrl } from "../../db/database_url.js";
import { until } from "../support/calls.js";
import { finished, runCli, spawnCli } from "../support/cli.js";
import { createTestSchema, type TestSchema } from "../support/database.js";
import { type ServerProcess, startServer, TASK } from "./support.js";

// `orchestra serve`, `metrics` and `optimize` as a user starts them, and the one thread lock that
// keeps a CLI run and a server run of one thread apart. branch_merger hangs (in the server and in
// the CLI runs below), so a run holds its thread for as long as a test needs.

const HANG = { ORCHESTRA_OFFLINE_FAULTS: JSON.stringify({ branch_merger: { hang: true } }) };

let db: TestSchema;
let sql: pg.Client;
let server: ServerProcess;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  db = await createTestSchema();
  sql = new pg.Client({ connectionString: db.databaseUrl });
  await sql.connect();
  env = { DATABASE_URL: db.databaseUrl, ORCHESTRA_DB_SCHEMA: db.schema, ORCHESTRA_MODEL: "offline" };
  server = await startServer(db.schema, HANG);
}, 90_000);
afterAll(async () => {
  await server?.stop();
  await sql?.end();
  await db?.cleanup();
});

const oneLine = (text: string) => text.trim().split("\n");

async function runStatus(runId: string): Promise<string | undefined> {
  const { rows } = await sql.query<{ status: string }>(`SELECT status FROM "${db.schema}".runs WHERE run_id = $1`, [
    runId,
  ]);
  return rows[0]?.status;
}

/** Who holds the thread's unexpired lease, if anyone. */
async function leaseHolder(threadId: string): Promise<string | undefined> {
  const { rows } = await sql.query<{ owner: string }>(
    `SELECT owner FROM "${db.schema}".thread_leases WHERE thread_id = $1 AND expires_at > clock_timestamp()`,
    [threadId],
  );
  return rows[0]?.owner;
}

describe("orchestra serve", () => {
  it("serves the SDK and /ok, and exits 0 on SIGTERM", async () => {
    // Its own schema: a server left running by a failure here must not take the other tests' runs.
    const schema = await createTestSchema();
    const own = await startServer(schema.schema);
    try {
      const ready = JSON.parse(
        own
          .output()
          .split("\n")
          .find((line) => line.startsWith('{"url"'))!,
      ) as { url: string; workers: number; checkpoints: string };
      expect(ready).toMatchObject({ url: own.url, workers: 100, dbPool: 10 });
      expect(ready.checkpoints).toBe(maskDatabaseUrl(db.databaseUrl));
      expect((await fetch(`${own.url}/ok`)).status).toBe(200);
      const graphs = (await own.client().assistants.search()).map((a) => a.graph_id);
      expect(graphs).toContain("parallel_workflow");
      expect(await own.stop("SIGTERM")).toBe(0);
      expect(own.output()).not.toMatch(/\n\s+at /);
    } finally {
      await own.stop("SIGKILL");
      await schema.cleanup();
    }
  });

  it.each([
    [["serve", "--port", "70000"], /^orchestra: --port must be a whole number from 0 to 65535, got '70000'$/],
    [["serve", "--workers", "many"], /^orchestra: --workers must be a whole number from 0 to 1000, got 'many'$/],
    [["serve", "--bogus"], /^orchestra: unknown option '--bogus': see 'orchestra serve --help'$/],
  ])("refuses %j with one line and exit 2", async (args, message) => {
    const result = await runCli(args, env);
    expect(result.code).toBe(2);
    expect(oneLine(result.stderr)).toHaveLength(1);
    expect(result.stderr.trim()).toMatch(message);
  });
});

describe("orchestra metrics and optimize", () => {
  it("report the runs stored in Postgres as JSON", async () => {
    const run = await runCli(["run", TASK.task, "--review", "never", "--json"], env);
    expect(run.code, run.stderr).toBe(0);
    const metrics = await runCli(["metrics", "--workflow", "parallel_workflow", "--since", "1h", "--json"], env);
    expect(metrics.code, metrics.stderr).toBe(0);
    const [parallel] = JSON.parse(metrics.stdout) as {
      workflow: string;
      completed: number;
      steps: { stepId: string; count: number }[];
    }[];
    expect(parallel!.workflow).toBe("parallel_workflow");
    expect(parallel!.completed).toBeGreaterThanOrEqual(1);
    expect(parallel!.steps.map((s) => s.stepId)).toEqual(
      expect.arrayContaining(["task_analyzer", "branch_merger", "final_integrator"]),
    );
    const optimized = await runCli(["optimize", "parallel_workflow", "--json"], env);
    expect(optimized.code, optimized.stderr).toBe(0);
    const report = JSON.parse(optimized.stdout) as {
      workflow: string;
      runs: number;
      bottlenecks: unknown[];
      recommendations: unknown[];
    };
    expect(report).toMatchObject({ workflow: "parallel_workflow" });
    expect(report.runs).toBeGreaterThanOrEqual(1);
    expect(Array.isArray(report.bottlenecks) && Array.isArray(report.recommendations)).toBe(true);
  });

  it.each([
    [
      ["metrics", "--since", "yesterday"],
      /^orchestra: --since 'yesterday' is not a duration: use a number and a unit, e.g. 30m, 24h or 7d$/,
    ],
    [
      ["metrics", "--workflow", "nope"],
      /^orchestra: no workflow named 'nope' has runs or a definition: use one of parallel_workflow, /,
    ],
    [["optimize", "nope"], /^orchestra: no workflow named 'nope' in /],
    [["optimize"], /^orchestra: missing required argument 'workflow': see 'orchestra optimize --help'$/],
    [
      ["optimize", "parallel_workflow", "--apply"],
      /^orchestra: parallel_workflow is a graph built in code, so --apply has nothing to write/,
    ],
    [
      ["optimize", "customer_service", "--apply"],
      /^orchestra: nothing to apply to customer_service: no applicable recommendation from 0 measured runs/,
    ],
  ])("refuses %j with one line and exit 2, writing nothing", async (args, message) => {
    const result = await runCli(args, env);
    expect(result.code).toBe(2);
    expect(oneLine(result.stderr)).toHaveLength(1);
    expect(result.stderr.trim()).toMatch(message);
    const { rows } = await sql.query<{ t: string | null }>("SELECT to_regclass($1) AS t", [
      `"${db.schema}".workflow_definition_versions`,
    ]);
    if (rows[0]!.t)
      expect((await sql.query(`SELECT 1 FROM "${db.schema}".workflow_definition_versions`)).rowCount).toBe(0);
  });
});

describe("one thread lock for the CLI and the server", () => {
  it("refuses a CLI resume while the server runs the thread", async () => {
    const client = server.client();
    const thread = await client.threads.create();
    await client.runs.wait(thread.thread_id, "parallel_workflow", { input: TASK });
    const run = await client.runs.create(thread.thread_id, "parallel_workflow", {
      command: { resume: { action: "approve" } },
    });
    await until(
      async () => (await client.threads.getState(thread.thread_id)).next.includes("branch_merger"),
      "the server's run to reach branch_merger",
    );
    expect(await runStatus(run.run_id)).toBe("running");
    const resume = await runCli(["resume", thread.thread_id, "--json"], { ...env, ...HANG });
    expect(resume.code).toBe(2);
    expect(resume.stderr.trim()).toBe(
      `orchestra: thread ${thread.thread_id} is being run by another process right now: wait for it to pause or finish`,
    );
    await client.runs.cancel(thread.thread_id, run.run_id, true);
    expect(await runStatus(run.run_id)).toBe("interrupted");
  });

  it("keeps a server run pending while a CLI run holds the thread, and runs it once the dead CLI's lease expires", async () => {
    const threadId = randomUUID();
    const cli = spawnCli(["run", TASK.task, "--thread", threadId, "--review", "never", "--json"], { ...env, ...HANG });
    const exited = finished(cli);
    await until(
      async () => (await leaseHolder(threadId))?.startsWith("cli ") ?? false,
      "the CLI to take its thread's lease",
    );
    const client = server.client();
    await client.threads.create({ threadId, ifExists: "do_nothing" });
    const run = await client.runs.create(threadId, "parallel_workflow", { input: null });
    // The server's workers look for runs continually; none may take this one while the CLI holds the thread.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(await runStatus(run.run_id)).toBe("pending");
    cli.kill("SIGKILL");
    await exited;
    await until(async () => (await runStatus(run.run_id)) === "running", "the server to claim the run");
    await client.runs.cancel(threadId, run.run_id, true);
    expect(await runStatus(run.run_id)).toBe("interrupted");
  });
});
