import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FaultPlan } from "../../models/offline/runtime.js";
import type { RunSummary } from "../../state/enterprise_workflow/report.js";
import { callsPerNode, readCallLog, until } from "../support/calls.js";
import { finished, PROJECT_ROOT } from "../support/cli.js";
import { createTestSchema, type TestSchema } from "../support/database.js";

// A map of inline engine children in a process killed with SIGKILL mid-map; another process
// resumes it. Each child makes one model call; the one for 'Slow' hangs until the kill.

const here = path.dirname(fileURLToPath(import.meta.url));
const CHILD = path.join(PROJECT_ROOT, "tests/support/enterprise_child.ts");
const MAP = path.join(here, "fixtures/crash-map.yaml");
const INPUT = JSON.stringify({ vendors: ["Acme", "Globex", "Initech", "Slow"] });

let db: TestSchema;
let client: pg.Client;
let dir: string;

beforeAll(async () => {
  db = await createTestSchema();
  client = new pg.Client({ connectionString: db.databaseUrl });
  await client.connect();
  dir = await mkdtemp(path.join(os.tmpdir(), "orchestra-map-crash-"));
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
  await client?.end();
  await db?.cleanup();
});

function child(args: string[], log: string, faults: FaultPlan = {}) {
  return spawn(process.execPath, ["--import", "tsx", CHILD, ...args], {
    cwd: PROJECT_ROOT,
    env: {
      ...process.env,
      DATABASE_URL: db.databaseUrl,
      ORCHESTRA_DB_SCHEMA: db.schema,
      ORCHESTRA_WORKFLOWS_DIR: path.join(here, "fixtures/children"),
      ORCHESTRA_OFFLINE_CALL_LOG: log,
      ORCHESTRA_OFFLINE_FAULTS: JSON.stringify(faults),
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
}

/** Children's outcomes saved as writes of the parent's map superstep (the root namespace): the ones that finished before the kill. */
async function savedChildren(threadId: string): Promise<number> {
  const { rows } = await client.query<{ n: string }>(
    `SELECT count(*) AS n FROM "${db.schema}".checkpoint_writes
     WHERE thread_id = $1 AND checkpoint_ns = '' AND channel = 'intermediateResults'
       AND checkpoint_id = (SELECT max(checkpoint_id) FROM "${db.schema}".checkpoints WHERE thread_id = $1 AND checkpoint_ns = '')`,
    [threadId],
  );
  return Number(rows[0]!.n);
}

describe("a map after SIGKILL", () => {
  it("resumes in another process without running the children that completed again", async () => {
    const log = path.join(dir, "map.jsonl");
    const killed = child(["run", "map-crash", MAP, INPUT], log, { slow_brief: { hang: true } });
    const exited = finished(killed);
    try {
      await until(
        async () => {
          const calls = callsPerNode(await readCallLog(log));
          return calls.brief === 3 && calls.slow_brief === 1 && (await savedChildren("map-crash")) === 3;
        },
        "three children saved and the fourth hanging",
        120_000,
      );
    } finally {
      killed.kill("SIGKILL");
    }
    expect((await exited).signal).toBe("SIGKILL");

    const resumed = await finished(child(["resume", "map-crash"], log));
    expect(resumed.code, resumed.stderr).toBe(0);
    const summary = JSON.parse(resumed.stdout.trim().split("\n").at(-1)!) as RunSummary;
    expect(summary.status).toBe("COMPLETED");
    expect(["briefs#1", "briefs#2", "briefs#3", "briefs#4"].map((key) => summary.steps[key]?.status)).toEqual(
      Array(4).fill("COMPLETED"),
    );

    // Per child: each completed child's one call, in the killed process; the hanging one's twice, once in each.
    const calls = await readCallLog(log);
    expect(callsPerNode(calls)).toEqual({ brief: 3, slow_brief: 2 });
    expect(new Set(calls.filter((call) => call.node === "brief").map((call) => call.task)).size).toBe(3);
    expect(new Set(calls.filter((call) => call.node === "brief").map((call) => call.pid)).size).toBe(1);
    expect(new Set(calls.filter((call) => call.node === "slow_brief").map((call) => call.pid)).size).toBe(2);
    // Two processes start on a machine that may be busy: the waits are on conditions, this only bounds them.
  }, 300_000);
});
