import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { until } from "../support/calls.js";
import { PROJECT_ROOT } from "../support/cli.js";
import { createTestSchema, type TestSchema } from "../support/database.js";
import { type ServerProcess, startServer, TASK } from "./support.js";

// 1000 runs through one server: its memory, its Postgres connections and its event loop stay flat.

const RUNS = 1000;
const BATCH = 100;
const CONCURRENCY = 25;

let db: TestSchema;
let sql: pg.Client;
let server: ServerProcess;

beforeAll(async () => {
  db = await createTestSchema();
  sql = new pg.Client({ connectionString: db.databaseUrl });
  await sql.connect();
  server = await startServer(
    db.schema,
    { ORCHESTRA_OFFLINE_LATENCY_MS: "0" },
    ["--workers", "10"],
    ["--expose-gc", "--import", path.join(PROJECT_ROOT, "tests/server/loop_probe.ts")],
  );
}, 90_000);
afterAll(async () => {
  await server?.stop();
  await sql?.end();
  await db?.cleanup();
});

interface Sample {
  rssMb: number;
  heapUsedMb: number;
  lagMeanMs: number;
  lagP99Ms: number;
  lagMaxMs: number;
  connections: number;
}

async function sample(): Promise<Sample> {
  const reports = () =>
    server
      .output()
      .split("\n")
      .filter((l) => l.startsWith("loop-probe ")).length;
  const before = reports();
  server.child.kill("SIGUSR2");
  await until(() => reports() > before, "the server's loop probe");
  const line = server
    .output()
    .split("\n")
    .filter((l) => l.startsWith("loop-probe "))
    .at(-1)!;
  const { rows } = await sql.query<{ n: number }>(
    "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1",
    [`orchestra serve ${db.schema}`],
  );
  return { ...(JSON.parse(line.slice("loop-probe ".length)) as Omit<Sample, "connections">), connections: rows[0]!.n };
}

describe("soak", () => {
  it(`runs ${RUNS} workflows through one server with RSS and Postgres connections flat`, async () => {
    const client = server.client();
    const samples: Sample[] = [];
    let completed = 0;
    await sample(); // the probe's window starts with the runs
    for (let batch = 0; batch < RUNS / BATCH; batch++) {
      let next = 0;
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          while (next < BATCH) {
            next++;
            // Stateless: each run's thread is deleted when it ends, so the tables stay small too.
            const result = (await client.runs.wait(null, "parallel_workflow", {
              input: TASK,
              context: { review: "never" },
            })) as { status?: string };
            if (result.status === "completed") completed++;
          }
        }),
      );
      samples.push(await sample());
    }
    const first = samples[0]!;
    const last = samples.at(-1)!;
    console.log(
      `soak: ${completed}/${RUNS} completed; first hundred ${JSON.stringify(first)}; last hundred ${JSON.stringify(last)}; ` +
        `RSS by hundred ${samples.map((s) => s.rssMb).join(", ")} MB; heap ${samples.map((s) => s.heapUsedMb).join(", ")} MB`,
    );
    expect(completed).toBe(RUNS);
    expect(last.rssMb).toBeLessThan(first.rssMb * 1.5 + 50);
    // The pools' limits bound them: the workers' sessions, the saver's 10, the listener, a few API ones.
    expect(last.connections).toBeLessThanOrEqual(first.connections + 5);
    // Stateless runs leave no checkpoints behind.
    const { rows } = await sql.query<{ n: number }>(`SELECT count(*)::int AS n FROM "${db.schema}".checkpoints`);
    expect(rows[0]!.n).toBe(0);
  }, 600_000);
});
