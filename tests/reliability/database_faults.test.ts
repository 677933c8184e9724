import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compileWorkflow } from "../../graphs/parallel_workflow.js";
import type { CallLogEntry } from "../../models/offline/model.js";
import { readCallLog, until } from "../support/calls.js";
import { finished, jsonResult, runCli, spawnCli } from "../support/cli.js";
import { createTestSchema, plantedPasswordUser, type TestSchema } from "../support/database.js";
import { startTcpProxy, type TcpProxy } from "../support/tcp_proxy.js";
import { ThreadAudit, type Reference } from "./audit.js";
import { scenario } from "./tally.js";

// Postgres becomes unreachable while a run is in flight: the run must stop with one clear
// error, and once Postgres is back a resume must finish it from intact checkpoints.

const TASK = "Design the failover of a payments ledger across two regions";
const PASSWORD = "db-pass-planted-4711";

let db: TestSchema;
let client: pg.Client;
let audit: ThreadAudit;
let proxy: TcpProxy;
let dir: string;
let reference: Reference;
let planted: Awaited<ReturnType<typeof plantedPasswordUser>>;

beforeAll(async () => {
  db = await createTestSchema();
  planted = await plantedPasswordUser(PASSWORD, db.schema);
  client = new pg.Client({ connectionString: db.databaseUrl });
  await client.connect();
  audit = new ThreadAudit(client, db.schema, compileWorkflow(db.checkpointer));
  const target = new URL(db.databaseUrl);
  proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5432) });
  dir = await mkdtemp(path.join(os.tmpdir(), "orchestra-dbfault-"));
  const log = path.join(dir, "reference.jsonl");
  reference = await audit.reference(TASK, "db-reference", env(log), log);
});
afterAll(async () => {
  try {
    if (dir) await rm(dir, { recursive: true, force: true });
    await proxy?.close();
    await client?.end();
    await db?.cleanup();
  } finally {
    await planted?.drop();
  }
});

/** The CLI reaches Postgres through the proxy, with a password nobody may print. */
function env(log: string): NodeJS.ProcessEnv {
  return {
    DATABASE_URL: planted.url(proxy.port),
    ORCHESTRA_DB_SCHEMA: db.schema,
    ORCHESTRA_OFFLINE_LATENCY_MS: "300",
    ORCHESTRA_OFFLINE_CALL_LOG: log,
  };
}

const OUTAGES: [string, (calls: CallLogEntry[]) => boolean][] = [
  ["during the fan-out", (calls) => calls.some((c) => c.node === "research_branch_alpha")],
  ["during branch_merger", (calls) => calls.some((c) => c.node === "branch_merger")],
];

describe("Postgres unreachable mid-run", () => {
  it.each(OUTAGES)("%s: one clear error, then resume completes from intact checkpoints", (name, when) =>
    scenario("database", `unreachable ${name}`, async (figures) => {
      const threadId = `db-outage-${OUTAGES.findIndex(([n]) => n === name)}`;
      const log = path.join(dir, `${threadId}.jsonl`);
      // Slow calls leave seconds of run after the outage begins, however late the poll sees its cue.
      const child = spawnCli(["run", TASK, "--thread", threadId, "--review", "never", "--json"], {
        ...env(log),
        ORCHESTRA_OFFLINE_LATENCY_MS: "600",
      });
      const exited = finished(child);
      await until(async () => when(await readCallLog(log)), name);
      proxy.cut();
      let failed: Awaited<typeof exited>;
      try {
        failed = await exited;
      } finally {
        proxy.restore();
      }
      if (failed.code === 1) figures.faults = 1;

      const saved = await audit.saved(threadId);
      const problemsAfterOutage = await audit.integrityProblems(threadId);
      const resumed = await runCli(["resume", threadId, "--json"], env(log));
      if (resumed.code === 0 && jsonResult(resumed).status === "completed") figures.recovered = 1;
      await audit.checkRecovery(threadId, log, { pid: child.pid, saved }, figures, reference);

      expect(failed.code).toBe(1);
      expect(problemsAfterOutage).toEqual([]);
      const errors = failed.stderr.split("\n").filter((line) => line.startsWith("orchestra:") || /^\s+at /.test(line));
      expect(errors, failed.stderr).toHaveLength(1);
      expect(errors[0]).toMatch(/database/i);
      expect(errors[0]).toContain(`:***@127.0.0.1:${proxy.port}`);
      expect(failed.stderr + failed.stdout).not.toContain(PASSWORD);
      expect(failed.stderr).not.toContain("--debug");
      expect(resumed.code, resumed.stderr).toBe(0);
      expect(jsonResult(resumed).status).toBe("completed");
    }),
  );
});
