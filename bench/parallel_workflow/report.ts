import { kb, ms, range, rate, table, x } from "../report.js";
import type { BenchResults } from "./harness.js";

export function renderMarkdown(results: BenchResults): string {
  const { latencyMs: L, repeats } = results.options;
  return [
    `Medians of ${repeats} runs (min–max), ms unless stated. Offline model, PostgreSQL ${results.machine.postgres}, ` +
      `Node ${results.machine.node}, ${results.machine.cpus} × ${results.machine.cpuModel}; ${results.durationSeconds.toFixed(0)} s in all.`,
    "",
    `**1–2. Critical path and Promise.all** (L = ${L} ms, review never, concurrency limit = branches)`,
    "",
    table(
      [
        "branches",
        "waves × width",
        "model calls",
        "on critical path",
        "ideal",
        "workflow",
        "Promise.all",
        "wall / ideal",
        "workflow / Promise.all",
        "bare-topology bound",
      ],
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
      "own CPU = workflow − bare − Promise.all, all on the stock PostgresSaver; the offline model's own CPU is its answers to the same calls without LangChain around them (a test double's cost, in Promise.all's); bare runs on the stock PostgresSaver, the workflow on " +
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
        "offline model's own CPU",
        "workflow CPU / floor",
        "… less the model's own",
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
        ms(r.model.cpuMs.median),
        x(r.cpuOverFloor),
        x(r.cpuOverFloorWithoutModel),
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
            results.server.map((r) => [
              `${r.processes} × ${r.workers}`,
              r.threads,
              rate(r.perSecond),
              r.idealPerSecond.toFixed(1),
              x(r.ofIdeal),
            ]),
          ),
          "",
          ...(results.apiOverhead
            ? [
                table(
                  ["one run at a time", "API (runs.wait)", "graph invoked directly", "API / direct"],
                  [
                    [
                      `${results.apiOverhead.branches} branches`,
                      ms(results.apiOverhead.apiMs.median),
                      ms(results.apiOverhead.directMs.median),
                      x(results.apiOverhead.apiOverDirect),
                    ],
                  ],
                ),
                "",
              ]
            : []),
          ...(results.apiCreates
            ? [
                table(
                  [
                    "all at once, one idle process",
                    "threads.create + runs.create",
                    "SELECT 1 round trips (baseline)",
                    "creates / baseline",
                  ],
                  [
                    [
                      `${results.apiCreates.pairs} pairs`,
                      ms(results.apiCreates.createsMs.median),
                      ms(results.apiCreates.selectOneMs.median),
                      x(results.apiCreates.createsOverSelectOne),
                    ],
                  ],
                ),
                "",
              ]
            : []),
        ]
      : []),
  ].join("\n");
}
