import { randomBytes } from "node:crypto";
import pg from "pg";
import { describe, expect, it } from "vitest";
import { measureEngine, renderEngine } from "../bench/enterprise_workflow/engine.js";
import { runBench } from "../bench/parallel_workflow/harness.js";
import { renderMarkdown } from "../bench/parallel_workflow/report.js";
import { judge } from "../bench/targets.js";
import { testDatabaseUrl } from "./support/database.js";

// The bench harness on one tiny configuration: every figure is produced and consistent
// with the others. Not how fast anything is: this machine is shared.

async function schemaExists(databaseUrl: string, schema: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rowCount } = await client.query("SELECT 1 FROM information_schema.schemata WHERE schema_name = $1", [
      schema,
    ]);
    return rowCount !== 0;
  } finally {
    await client.end();
  }
}

describe("npm run bench, smallest configuration", () => {
  it("measures the critical path, the floor, concurrency and storage, and leaves no schema behind", async () => {
    const databaseUrl = testDatabaseUrl();
    const schema = `bench_${randomBytes(6).toString("hex")}`;
    const latencyMs = 20;
    const results = await runBench({
      branches: [5],
      floorBranches: [5],
      threads: [2],
      latencyMs,
      repeats: 1,
      databaseUrl,
      schema,
    });

    // One task plans five branches in one wave: task_analyzer, the wave, the two merge
    // calls side by side, the judge.
    const [cp] = results.criticalPath;
    expect(cp).toMatchObject({
      branches: 5,
      waves: 1,
      waveWidth: 5,
      modelCalls: 9,
      criticalCalls: 4,
      idealMs: 4 * latencyMs,
    });
    // Nothing finishes faster than its model calls allow.
    expect(cp!.workflowMs.min).toBeGreaterThanOrEqual(cp!.idealMs);
    expect(cp!.promiseAllMs.min).toBeGreaterThanOrEqual(cp!.idealMs);
    expect(cp!.wallOverIdeal).toBeCloseTo(cp!.workflowMs.median / cp!.idealMs, 9);

    const [floor] = results.floor;
    expect(floor!.superSteps).toBe(9);
    const { bareMemory, barePostgres, workflowMemory, workflowPostgres, workflowStockPostgres, promiseAll, model } =
      floor!;
    for (const row of [
      bareMemory,
      barePostgres,
      workflowMemory,
      workflowPostgres,
      workflowStockPostgres,
      promiseAll,
      model,
    ]) {
      expect(row.wallMs.median).toBeGreaterThan(0);
      expect(row.cpuMs.median).toBeGreaterThan(0);
    }
    expect(floor!.cpuOverFloor).toBeGreaterThan(0);
    expect(cp!.frameworkBound).toBeGreaterThan(1);

    const [conc] = results.concurrency;
    expect(conc).toMatchObject({ threads: 2, branches: 5, idealPerSecond: 2 / ((4 * latencyMs) / 1000) });
    expect(conc!.perSecond.median).toBeGreaterThan(0);
    expect(conc!.peakRssMb).toBeGreaterThanOrEqual(conc!.rssBeforeMb);

    const [storage] = results.storage;
    expect(storage!.checkpointRows).toBe(9);
    expect(storage!.writes).toBeGreaterThan(0);
    expect(storage!.blobs).toBeGreaterThan(0);
    expect(storage!.total).toBe(storage!.checkpoints + storage!.blobs + storage!.writes);
    expect(storage!.perBranch).toBe(storage!.total / 5);

    const markdown = renderMarkdown(results);
    expect(markdown).toContain("| 5 | 1 × 5 | 9 | 4 | 80.0 |");
    // Every target reading this configuration's figures finds them (100 branches and 50 threads are not measured here).
    const judged = judge({ parallel_workflow: results }).filter((v) => v.value !== undefined);
    expect(judged.map((v) => v.target.name)).toContain(
      "own CPU per run ≤ 10 ms at 5 branches (L = 0; workflow − bare floor − Promise.all, stock PostgresSaver)",
    );
    expect(JSON.parse(JSON.stringify(results))).toEqual(results);

    expect(await schemaExists(databaseUrl, schema)).toBe(false);
  });
});

describe("npm run bench --workflow enterprise_workflow, smallest configuration", () => {
  it("times the engine against the hand-written graph of the same shape and drops its schema", async () => {
    const databaseUrl = testDatabaseUrl();
    const schema = `bench_engine_${randomBytes(6).toString("hex")}`;
    const result = await measureEngine({ steps: 1, repeats: 1, databaseUrl, schema });

    // One group: a chain of three, a parallel step of six children, a tally.
    expect(result).toMatchObject({ steps: 11, groups: 1, fan: 6 });
    expect(result.engineMs.n).toBe(1);
    expect(result.engineMsPerStep).toBeCloseTo(result.engineMs.median / 11, 9);
    expect(result.overheadMsPerStep).toBeCloseTo((result.engineMs.median - result.handWrittenMs.median) / 11, 9);
    expect(result.engineOverHandWritten).toBeCloseTo(result.engineMs.median / result.handWrittenMs.median, 9);
    expect(renderEngine(result)).toContain("| engine (definition) |");
    expect(await schemaExists(databaseUrl, schema)).toBe(false);
  });
});
