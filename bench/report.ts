import type { BenchResults, Spread } from "./harness.js";

const ms = (x: number) => (x >= 100 ? x.toFixed(0) : x.toFixed(1));
const range = (s: Spread) => `${ms(s.median)} (${ms(s.min)}–${ms(s.max)})`;
const rate = (s: Spread) => `${s.median.toFixed(1)} (${s.min.toFixed(1)}–${s.max.toFixed(1)})`;
const x = (r: number) => `${r.toFixed(2)}×`;
const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)}`;

function table(header: string[], rows: (string | number)[][]): string {
  return [
    `| ${header.join(" | ")} |`,
    `| ${header.map(() => "---").join(" | ")} |`,
    ...rows.map((row) => `| ${row.join(" | ")} |`),
  ].join("\n");
}

export interface Target {
  name: string;
  value: string;
  met: boolean;
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
    if (row) out.push({ name: `wall / ideal ≤ ${limit} at ${n} branches`, value: x(row.wallOverIdeal), met: row.wallOverIdeal <= limit });
  }
  for (const row of results.floor) {
    out.push({
      name: `CPU at L=0 ≤ 1.5× the bare floor on PostgresSaver, ${row.branches} branches`,
      value: x(row.cpuOverFloor),
      met: row.cpuOverFloor <= 1.5,
    });
  }
  const widest = results.concurrency.find((r) => r.threads === 50) ?? results.concurrency.at(-1);
  if (widest) {
    out.push({
      name: `${widest.threads} threads reach ≥ 0.9 of ideal throughput`,
      value: x(widest.ofIdeal),
      met: widest.ofIdeal >= 0.9,
    });
  }
  if (results.storage.length > 1) {
    const first = results.storage[0]!;
    const last = results.storage.at(-1)!;
    out.push({
      name: `storage per branch flat within 20% from ${first.branches} to ${last.branches} branches`,
      value: x(results.storageGrowth),
      met: Math.abs(results.storageGrowth - 1) <= 0.2,
    });
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
      ["branches", "waves × width", "model calls", "on critical path", "ideal", "workflow", "Promise.all", "wall / ideal", "workflow / Promise.all"],
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
      ]),
    ),
    "",
    `**3, 6. Framework floor and checkpoint overhead** (L = 0; ${repeats * 2} runs; CPU is this process's, not the Postgres server's)`,
    "",
    table(
      [
        "branches",
        "super-steps",
        "bare Memory wall / CPU",
        "bare Postgres wall / CPU",
        "workflow Memory wall / CPU",
        "workflow Postgres wall / CPU",
        "workflow CPU / floor",
        "Postgres − Memory per step, bare / workflow (wall)",
      ],
      results.floor.map((r) => [
        r.branches,
        r.superSteps,
        `${range(r.bareMemory.wallMs)} / ${ms(r.bareMemory.cpuMs.median)}`,
        `${range(r.barePostgres.wallMs)} / ${ms(r.barePostgres.cpuMs.median)}`,
        `${range(r.workflowMemory.wallMs)} / ${ms(r.workflowMemory.cpuMs.median)}`,
        `${range(r.workflowPostgres.wallMs)} / ${ms(r.workflowPostgres.cpuMs.median)}`,
        x(r.cpuOverFloor),
        `${ms(r.checkpointPerStep.bareWallMs)} / ${ms(r.checkpointPerStep.workflowWallMs)}`,
      ]),
    ),
    "",
    `**4. Concurrency** (${results.concurrency[0]?.branches ?? 5} branches per thread, L = ${L} ms)`,
    "",
    table(
      ["threads", "workflows/s", "ideal/s", "of ideal", "peak RSS MB"],
      results.concurrency.map((r) => [r.threads, rate(r.perSecond), r.idealPerSecond.toFixed(1), x(r.ofIdeal), r.peakRssMb.toFixed(0)]),
    ),
    "",
    "**5. Storage per run** (KiB in Postgres: checkpoints, blobs, writes)",
    "",
    table(
      ["branches", "checkpoints", "blobs", "writes", "total", "per branch", "checkpoint rows"],
      results.storage.map((r) => [r.branches, kb(r.checkpoints), kb(r.blobs), kb(r.writes), kb(r.total), kb(r.perBranch), r.checkpointRows]),
    ),
    "",
    "**Targets**",
    "",
    table(
      ["target", "measured", "met"],
      targets(results).map((t) => [t.name, t.value, t.met ? "yes" : "no"]),
    ),
    "",
  ].join("\n");
}
