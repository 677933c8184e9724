import { kb, ms, range, rate, table, x } from "../report.js";
import type { BenchResults } from "./harness.js";

export interface Target {
  name: string;
  value: string;
  met: boolean;
  /** The same figure for the bare topology: how far LangGraph and PostgresSaver alone allow the target. */
  framework: string;
}

/** The targets, judged on the medians. */
export function targets(results: BenchResults): Target[] {
  const out: Target[] = [];
  const cp = (n: number) => results.criticalPath.find((r) => r.branches === n);
  for (const [n, limit] of [
    [5, 1.05],
    [100, 1.1],
  ] as const) {
    const row = cp(n);
    if (row) {
      out.push({
        name: `wall / ideal ≤ ${limit} at ${n} branches`,
        value: x(row.wallOverIdeal),
        met: row.wallOverIdeal <= limit,
        framework: row.frameworkBound === undefined ? "" : `≥ ${x(row.frameworkBound)}`,
      });
    }
  }
  for (const row of results.floor) {
    out.push({
      name: `CPU at L=0 ≤ 1.5× the bare floor on PostgresSaver, ${row.branches} branches`,
      value: x(row.cpuOverFloor),
      met: row.cpuOverFloor <= 1.5,
      framework: `agents alone add ${x((row.barePostgres.cpuMs.median + row.promiseAll.cpuMs.median) / row.barePostgres.cpuMs.median)}`,
    });
    out.push({
      name: `… the same with the workflow on the stock PostgresSaver too, ${row.branches} branches`,
      value: x(row.cpuOverFloorStock),
      met: row.cpuOverFloorStock <= 1.5,
      framework: "",
    });
  }
  const widest = results.concurrency.find((r) => r.threads === 50) ?? results.concurrency.at(-1);
  if (widest) {
    // One Node process runs every thread's nodes and checkpointing on one core: it cannot
    // complete more workflows per second than 1 s over the CPU one of them needs.
    const bareCpu = results.floor.find((f) => f.branches === widest.branches)?.barePostgres.cpuMs.median;
    out.push({
      name: `${widest.threads} threads reach ≥ 0.9 of ideal throughput`,
      value: x(widest.ofIdeal),
      met: widest.ofIdeal >= 0.9,
      framework: bareCpu ? `≤ ${x(1000 / bareCpu / widest.idealPerSecond)} (one core / bare CPU per run)` : "",
    });
  }
  const twoProcesses = results.server.find((r) => r.processes === 2);
  if (twoProcesses) {
    out.push({
      name: `API server, ${twoProcesses.threads} threads on 2 processes, ≥ 0.8 of ideal throughput`,
      value: x(twoProcesses.ofIdeal),
      met: twoProcesses.ofIdeal >= 0.8,
      framework: "",
    });
  }
  if (results.apiOverhead) {
    out.push({
      name: "API run ≤ 1.15× the graph invoked directly",
      value: x(results.apiOverhead.apiOverDirect),
      met: results.apiOverhead.apiOverDirect <= 1.15,
      framework: "",
    });
  }
  if (results.storageGrowth !== undefined) {
    const first = results.storage[0]!;
    const last = results.storage.at(-1)!;
    out.push({
      name: `storage per branch flat within 20% from ${first.branches} to ${last.branches} branches`,
      value: x(results.storageGrowth),
      met: Math.abs(results.storageGrowth - 1) <= 0.2,
      framework: "",
    });
    if (results.marginalGrowth !== undefined) {
      out.push({
        name: "bytes each added branch costs, flat within 20% (linear growth)",
        value: x(results.marginalGrowth),
        met: Math.abs(results.marginalGrowth - 1) <= 0.2,
        framework: "",
      });
    }
  }
  return out;
}

export function renderMarkdown(results: BenchResults): string {
  const { latencyMs: L, repeats } = results.options;
  return [
    `Medians of ${repeats} runs (min–max), ms unless stated. Offline model, PostgreSQL ${results.machine.postgres}, ` +
      `Node ${results.machine.node}, ${results.machine.cpus} × ${results.machine.cpuModel}; ${results.durationSeconds.toFixed(0)} s in all.`,
    "",
    `**1–2. Critical path and Promise.all** (L = ${L} ms, review never, concurrency limit = branches)`,
    "",
    table(
      ["branches", "waves × width", "model calls", "on critical path", "ideal", "workflow", "Promise.all", "wall / ideal", "workflow / Promise.all", "bare-topology bound"],
      results.criticalPath.map((r) => [
        r.branches,
        `${r.waves} × ${r.waveWidth}`,
        r.modelCalls,
        r.criticalCalls,
        ms(r.idealMs),
        range(r.workflowMs),
        range(r.promiseAllMs),
        x(r.wallOverIdeal),
        x(r.workflowOverPromiseAll),
        r.frameworkBound === undefined ? "" : x(r.frameworkBound),
      ]),
    ),
    "",
    `**3, 6. Framework floor and checkpoint overhead** (L = 0; ${repeats * 2} runs; CPU is this process's, not the Postgres server's; ` +
      "own CPU = workflow − bare − Promise.all, all on the stock PostgresSaver; bare runs on the stock PostgresSaver, the workflow on " +
      "openCheckpointer's batched saver and, for comparison, on the stock one)",
    "",
    table(
      [
        "branches",
        "super-steps",
        "bare Memory wall / CPU",
        "bare Postgres wall / CPU",
        "workflow Memory wall / CPU",
        "workflow Postgres wall / CPU",
        "workflow stock PostgresSaver wall / CPU",
        "Promise.all CPU",
        "workflow CPU / floor",
        "own CPU",
        "Postgres − Memory per step, bare / workflow (wall)",
      ],
      results.floor.map((r) => [
        r.branches,
        r.superSteps,
        `${range(r.bareMemory.wallMs)} / ${ms(r.bareMemory.cpuMs.median)}`,
        `${range(r.barePostgres.wallMs)} / ${ms(r.barePostgres.cpuMs.median)}`,
        `${range(r.workflowMemory.wallMs)} / ${ms(r.workflowMemory.cpuMs.median)}`,
        `${range(r.workflowPostgres.wallMs)} / ${ms(r.workflowPostgres.cpuMs.median)}`,
        `${range(r.workflowStockPostgres.wallMs)} / ${ms(r.workflowStockPostgres.cpuMs.median)}`,
        ms(r.promiseAll.cpuMs.median),
        x(r.cpuOverFloor),
        ms(r.ownCpuMs),
        `${ms(r.checkpointPerStep.bareWallMs)} / ${ms(r.checkpointPerStep.workflowWallMs)}`,
      ]),
    ),
    "",
    `**4. Concurrency** (${results.concurrency[0]?.branches ?? 5} branches per thread, L = ${L} ms)`,
    "",
    table(
      ["threads", "workflows/s", "ideal/s", "of ideal", "RSS before / peak MB"],
      results.concurrency.map((r) => [
        r.threads,
        rate(r.perSecond),
        r.idealPerSecond.toFixed(1),
        x(r.ofIdeal),
        `${r.rssBeforeMb.toFixed(0)} / ${r.peakRssMb.toFixed(0)}`,
      ]),
    ),
    "",
    "**5. Storage per run** (KiB in Postgres: checkpoints, blobs, writes)",
    "",
    table(
      ["branches", "checkpoints", "blobs", "writes", "total", "per branch", "per added branch", "checkpoint rows"],
      [...results.storage, ...(results.storageInWaves ? [results.storageInWaves] : [])].map((r) => [
        r.maxConcurrency ? `${r.branches}, limit ${r.maxConcurrency}` : r.branches,
        kb(r.checkpoints),
        kb(r.blobs),
        kb(r.writes),
        kb(r.total),
        kb(r.perBranch),
        r.marginalPerBranch === undefined ? "" : kb(r.marginalPerBranch),
        r.checkpointRows,
      ]),
    ),
    "",
    ...(results.server.length
      ? [
          `**7. API server** (\`orchestra serve\` processes on one schema, ${results.server[0]!.branches} branches per thread, L = ${L} ms; runs.wait on threads made beforehand)`,
          "",
          table(
            ["processes × workers", "threads", "workflows/s", "ideal/s", "of ideal"],
            results.server.map((r) => [`${r.processes} × ${r.workers}`, r.threads, rate(r.perSecond), r.idealPerSecond.toFixed(1), x(r.ofIdeal)]),
          ),
          "",
          ...(results.apiOverhead
            ? [
                table(
                  ["one run at a time", "API (runs.wait)", "graph invoked directly", "API / direct"],
                  [[`${results.apiOverhead.branches} branches`, ms(results.apiOverhead.apiMs.median), ms(results.apiOverhead.directMs.median), x(results.apiOverhead.apiOverDirect)]],
                ),
                "",
              ]
            : []),
          ...(results.apiCreates
            ? [
                table(
                  ["all at once, one idle process", "threads.create + runs.create", "SELECT 1 round trips (baseline)", "creates / baseline"],
                  [[`${results.apiCreates.pairs} pairs`, ms(results.apiCreates.createsMs.median), ms(results.apiCreates.selectOneMs.median), x(results.apiCreates.createsOverSelectOne)]],
                ),
                "",
              ]
            : []),
        ]
      : []),
    "**Targets**",
    "",
    table(
      ["target", "measured", "met", "LangGraph alone"],
      targets(results).map((t) => [t.name, t.value, t.met ? "yes" : "no", t.framework]),
    ),
    "",
  ].join("\n");
}
