import pg from "pg";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { appendDefinitionVersions } from "../checkpoints/enterprise_workflow/definition_versions.js";
import { compileEnterpriseWorkflow } from "../graphs/enterprise_workflow.js";
import { LATENCY_ENV } from "../models/offline/runtime.js";
import { defaultEngineServices } from "../nodes/enterprise_workflow/services.js";
import { checkDefinition } from "../state/enterprise_workflow/loader.js";
import type { EnterpriseState } from "../state/enterprise_workflow/state.js";
import { diffWorkflowVersions } from "../metrics/enterprise_workflow/variants.js";
import type { MetricsDatabase } from "../metrics/collector.js";
import { formatMetrics, formatOptimization, metrics, optimizeWorkflow, parseSince } from "../metrics/optimize.js";
import { createTestSchema, type TestSchema } from "./support/database.js";
import { testEngineServices } from "./support/enterprise.js";

// Real engine runs on Postgres, answered by the offline model with a set latency per call: the
// figures the collector reads back from the checkpoints are compared with durations known up front.

let db: TestSchema;
let pool: pg.Pool;
let database: MetricsDatabase;
let workflow: ReturnType<typeof compileEnterpriseWorkflow>;
let closeControls: () => Promise<void>;
let threads = 0;

beforeAll(async () => {
  db = await createTestSchema();
  pool = new pg.Pool({ connectionString: db.databaseUrl, max: 4 });
  database = { pool, schema: db.schema, checkpointer: db.checkpointer };
  const { services, close } = await testEngineServices(db);
  closeControls = close;
  workflow = compileEnterpriseWorkflow(db.checkpointer, services);
});
afterAll(async () => {
  await closeControls?.();
  await pool?.end();
  await db?.cleanup();
});
afterEach(() => {
  delete process.env[LATENCY_ENV];
});

/** Runs the definition once; returns the wall time the test measured. */
async function run(definition: unknown): Promise<number> {
  const started = performance.now();
  await workflow.invoke(
    { definition, input: {} },
    { configurable: { thread_id: `metrics-${++threads}`, model: "offline" } },
  );
  return performance.now() - started;
}

const llmStep = (stepId: string, dependencies: string[] = []) => ({
  stepId,
  stepType: "sequential",
  action: { llm: `Summarise ${stepId}.` },
  dependencies,
});
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

describe("metrics from the checkpoints", () => {
  it("give each step's known duration and the runs' wall time within 10 %", async () => {
    process.env[LATENCY_ENV] = "400";
    const definition = checkDefinition({
      name: "known_durations",
      steps: [llmStep("first"), llmStep("second", ["first"]), llmStep("third", ["second"])],
    });
    for (let i = 0; i < 3; i++) await run(definition);

    const [measured] = await metrics(database, { workflow: "known_durations" });
    expect(measured).toBeDefined();
    expect(measured!.threads).toBe(3);
    expect(measured!.completed).toBe(3);
    for (const step of measured!.steps) {
      expect(step.count).toBe(3);
      expect(step.modelCalls).toBe(3);
      expect(step.successRate).toBe(1);
      expect(Math.abs(step.meanMs - 400) / 400).toBeLessThan(0.1);
    }
    // The wall time against the thread's own first and last checkpoint, read here directly.
    const { rows } = await pool.query<{ span: number }>(
      `SELECT EXTRACT(EPOCH FROM (max((checkpoint->>'ts')::timestamptz) - min((checkpoint->>'ts')::timestamptz))) * 1000 AS span
       FROM "${db.schema}".checkpoints WHERE thread_id LIKE 'metrics-%' AND checkpoint_ns = '' GROUP BY thread_id`,
    );
    const spans = rows.map((row) => Number(row.span));
    const meanSpan = spans.reduce((a, b) => a + b, 0) / spans.length;
    expect(Math.abs(measured!.duration.meanMs - meanSpan) / meanSpan).toBeLessThan(0.1);
    expect(formatMetrics([measured!])).toContain("known_durations");
  });

  it("refuses a --since that is not a duration, with the format to use", () => {
    expect(() => parseSince("yesterday")).toThrow(
      "--since 'yesterday' is not a duration: use a number and a unit, e.g. 30m, 24h or 7d",
    );
    expect(parseSince("90m")).toBe(5_400_000);
  });
});

describe("optimize --apply", () => {
  it("grouping 3 independent sequential 200 ms steps cuts the median wall time of 10 real runs by ≥ 30 %", async () => {
    process.env[LATENCY_ENV] = "200";
    const name = "three_fetches";
    const before = checkDefinition({
      name,
      maxParallelSteps: 1,
      steps: [llmStep("fetch_a"), llmStep("fetch_b"), llmStep("fetch_c")],
    });
    const slow: number[] = [];
    for (let i = 0; i < 10; i++) slow.push(await run(before));

    // The runs above ran the inline definition; the optimizer starts from the stored history.
    await appendDefinitionVersions(pool, db.schema, name, [{ definition: before, note: "test baseline" }]);
    const result = await optimizeWorkflow(database, { workflow: name, apply: true });
    expect(result.recommendations[0]).toMatchObject({ type: "parallelization", priority: 9 });
    expect(result.recommendations[0]!.expectedImprovement).toBeGreaterThan(30);
    expect(result.applied?.version).toBe(2);
    expect(formatOptimization(result)).toContain("applied: wrote three_fetches v2");

    const { changes } = await diffWorkflowVersions(database, { workflow: name });
    expect(changes.map((c) => c.path)).toEqual(
      expect.arrayContaining(["maxParallelSteps", "steps.parallel_fetch_a_fetch_b_fetch_c"]),
    );
    // Runs that name the workflow get the applied version: the newest stored one.
    process.env.ORCHESTRA_DB_SCHEMA = db.schema;
    try {
      const { services, close } = await testEngineServices(db, {
        namedDefinition: defaultEngineServices().namedDefinition!,
      });
      const byName = compileEnterpriseWorkflow(db.checkpointer, services);
      const fast: number[] = [];
      for (let i = 0; i < 10; i++) {
        const started = performance.now();
        const config = { configurable: { thread_id: `metrics-${++threads}`, model: "offline" } };
        await byName.invoke({ definition: name, input: {} }, config);
        fast.push(performance.now() - started);
        const { values } = await byName.getState(config);
        expect((values as EnterpriseState).workflow?.steps.map((step) => step.stepType)).toEqual(["parallel"]);
      }
      await close();
      const cut = 1 - median(fast) / median(slow);
      expect(cut, `median ${Math.round(median(slow))} ms → ${Math.round(median(fast))} ms`).toBeGreaterThanOrEqual(0.3);
    } finally {
      delete process.env.ORCHESTRA_DB_SCHEMA;
    }
  });

  it("says what to do when there is nothing to apply", async () => {
    await expect(optimizeWorkflow(database, { workflow: "customer_service", apply: true })).rejects.toThrow(
      "nothing to apply to customer_service: no applicable recommendation from 0 measured runs; run it more, then optimize again",
    );
    await expect(optimizeWorkflow(database, { workflow: "parallel_workflow", apply: true })).rejects.toThrow(
      /built in code/,
    );
  });
});
