import { Hono } from "hono";
import { Gauge, Registry, collectDefaultMetrics } from "prom-client";
import type { MetricsDatabase } from "../../metrics/collector.js";
import { metrics } from "../../metrics/optimize.js";

/**
 * GET /metrics for Prometheus, and the console's JSON metrics. Both sit behind the API key
 * (Prometheus sends it as `authorization: Bearer`). Figures are computed from Postgres at each
 * scrape, so every instance reports the same history.
 */
export function metricsApi(db: MetricsDatabase, processRegistries: Registry[] = []): Hono {
  const api = new Hono();
  // Counters kept in this process (the triggers') beside the figures read from Postgres.
  const registry = Registry.merge([prometheusRegistry(db), ...processRegistries]);

  api.get("/metrics", async (c) => c.body(await registry.metrics(), 200, { "content-type": registry.contentType }));

  api.get("/orchestra/metrics", async (c) => {
    const workflow = c.req.query("workflow");
    const since = c.req.query("since");
    return c.json(await metrics(db, { ...(workflow ? { workflow } : {}), ...(since ? { since } : {}) }));
  });
  return api;
}

function prometheusRegistry(db: MetricsDatabase): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "orchestra_process_" });
  // A registry collects its metrics concurrently: each gauge awaits the one collection of this scrape.
  let scrape: Promise<void> | undefined;
  const collect = async () => {
    scrape ??= fill().finally(() => setTimeout(() => (scrape = undefined), 0));
    await scrape;
  };
  const gauge = <L extends string>(name: string, help: string, labelNames: readonly L[]) =>
    new Gauge<L>({ name, help, labelNames, registers: [registry], collect });
  const threads = gauge("orchestra_workflow_threads", "Threads per workflow and outcome", ["workflow", "outcome"]);
  const wall = gauge(
    "orchestra_workflow_duration_seconds",
    "Wall time of finished threads, waits for people left out",
    ["workflow", "stat"],
  );
  const step = gauge("orchestra_step_duration_seconds", "Step or node durations", ["workflow", "step", "stat"]);
  const stepRate = gauge("orchestra_step_error_ratio", "Share of a step's runs that failed", ["workflow", "step"]);
  const stepCounts = gauge("orchestra_step_events", "Retries, timeouts and model calls per step", [
    "workflow",
    "step",
    "event",
  ]);
  const runs = gauge("orchestra_server_runs", "The server's runs per graph and status", ["graph", "status"]);
  const stored = gauge("orchestra_workflow_stored_bytes", "Checkpoint storage per workflow", ["workflow"]);

  async function fill(): Promise<void> {
    const all = await metrics(db);
    for (const g of [threads, wall, step, stepRate, stepCounts, runs, stored]) g.reset();
    for (const m of all) {
      threads.set({ workflow: m.workflow, outcome: "completed" }, m.completed);
      threads.set({ workflow: m.workflow, outcome: "failed" }, m.failed);
      threads.set({ workflow: m.workflow, outcome: "unfinished" }, m.threads - m.completed - m.failed);
      for (const [stat, value] of [
        ["mean", m.duration.meanMs],
        ["p50", m.duration.p50Ms],
        ["p95", m.duration.p95Ms],
      ] as const)
        wall.set({ workflow: m.workflow, stat }, value / 1000);
      stored.set({ workflow: m.workflow }, m.resources.storedBytes);
      for (const s of m.steps) {
        for (const [stat, value] of [
          ["mean", s.meanMs],
          ["p50", s.p50Ms],
          ["p95", s.p95Ms],
          ["stddev", s.stdDevMs],
        ] as const) {
          step.set({ workflow: m.workflow, step: s.stepId, stat }, value / 1000);
        }
        stepRate.set({ workflow: m.workflow, step: s.stepId }, s.errorRate);
        stepCounts.set({ workflow: m.workflow, step: s.stepId, event: "retry" }, s.retries);
        stepCounts.set({ workflow: m.workflow, step: s.stepId, event: "timeout" }, s.timeouts);
        stepCounts.set({ workflow: m.workflow, step: s.stepId, event: "model_call" }, s.modelCalls);
      }
      for (const [status, count] of Object.entries(m.serverRuns?.byStatus ?? {}))
        runs.set({ graph: m.graphId, status }, count);
    }
  }
  return registry;
}
