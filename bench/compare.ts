// npx tsx bench/compare.ts --before A.json [--before …] --after B.json [--after …] [--startup S.json]
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import type { BenchResults } from "./parallel_workflow/harness.js";
import { kb, ms, table } from "./report.js";
import type { StartupResult } from "./startup.js";

/**
 * Before against after: the research workflow's headline figures from `npm run bench` JSON files
 * of two versions of the project (latest.json as each wrote it, the research figures at the top
 * level before the bench was split by workflow, under workflows.parallel_workflow since), each
 * run's median side by side and the ratio of the runs' means. --startup reads a
 * `--startup-only --startup-against DIR --out FILE` run, where both CLIs were timed in the same rounds.
 */

const USAGE =
  "Usage: npx tsx bench/compare.ts --before A.json [--before …] --after B.json [--after …] [--startup S.json]\n";

interface ResultsFile extends Partial<BenchResults> {
  workflows?: { parallel_workflow?: BenchResults };
  startup?: StartupResult;
}

function research(file: string): BenchResults {
  const json = JSON.parse(readFileSync(file, "utf8")) as ResultsFile;
  const results = json.workflows?.parallel_workflow ?? json;
  if (!results.criticalPath || !results.floor || !results.concurrency || !results.storage)
    throw new Error(`${file} holds no research workflow figures`);
  return results as BenchResults;
}

type Figure = { name: string; of: (r: BenchResults) => number | undefined; format: (n: number) => string };

function figures(sample: BenchResults): Figure[] {
  const at = <T extends { branches: number }>(rows: T[], n: number) => rows.find((r) => r.branches === n);
  const ratioFormat = (n: number) => `${n.toFixed(2)}×`;
  return [
    ...sample.criticalPath.flatMap(({ branches: n }): Figure[] => [
      // What the run does, not how fast: equal on both sides unless behaviour changed.
      {
        name: `critical path, ${n} branches: model calls`,
        of: (r) => at(r.criticalPath, n)?.modelCalls,
        format: String,
      },
      {
        name: `critical path, ${n} branches: calls on the critical path`,
        of: (r) => at(r.criticalPath, n)?.criticalCalls,
        format: String,
      },
      {
        name: `critical path, ${n} branches: workflow wall ms`,
        of: (r) => at(r.criticalPath, n)?.workflowMs.median,
        format: ms,
      },
      {
        name: `critical path, ${n} branches: wall / ideal`,
        of: (r) => at(r.criticalPath, n)?.wallOverIdeal,
        format: ratioFormat,
      },
      {
        name: `critical path, ${n} branches: Promise.all ms`,
        of: (r) => at(r.criticalPath, n)?.promiseAllMs.median,
        format: ms,
      },
      {
        name: `critical path, ${n} branches: workflow / Promise.all`,
        of: (r) => at(r.criticalPath, n)?.workflowOverPromiseAll,
        format: ratioFormat,
      },
    ]),
    ...sample.floor.flatMap(({ branches: n }): Figure[] => [
      { name: `floor L=0, ${n} branches: super-steps`, of: (r) => at(r.floor, n)?.superSteps, format: String },
      {
        name: `floor L=0, ${n} branches: bare PostgresSaver wall ms`,
        of: (r) => at(r.floor, n)?.barePostgres.wallMs.median,
        format: ms,
      },
      {
        name: `floor L=0, ${n} branches: workflow Postgres wall ms`,
        of: (r) => at(r.floor, n)?.workflowPostgres.wallMs.median,
        format: ms,
      },
      {
        name: `floor L=0, ${n} branches: bare PostgresSaver CPU ms`,
        of: (r) => at(r.floor, n)?.barePostgres.cpuMs.median,
        format: ms,
      },
      {
        name: `floor L=0, ${n} branches: workflow CPU ms`,
        of: (r) => at(r.floor, n)?.workflowPostgres.cpuMs.median,
        format: ms,
      },
      {
        name: `floor L=0, ${n} branches: workflow CPU / floor`,
        of: (r) => at(r.floor, n)?.cpuOverFloor,
        format: ratioFormat,
      },
      { name: `floor L=0, ${n} branches: own CPU ms`, of: (r) => at(r.floor, n)?.ownCpuMs, format: ms },
    ]),
    ...sample.concurrency.flatMap(({ threads }): Figure[] => [
      {
        name: `concurrency, ${threads} threads: workflows/s`,
        of: (r) => r.concurrency.find((c) => c.threads === threads)?.perSecond.median,
        format: (n) => n.toFixed(1),
      },
      {
        name: `concurrency, ${threads} threads: of ideal`,
        of: (r) => r.concurrency.find((c) => c.threads === threads)?.ofIdeal,
        format: ratioFormat,
      },
    ]),
    ...sample.storage.flatMap(({ branches: n }): Figure[] => [
      { name: `storage, ${n} branches: KiB`, of: (r) => at(r.storage, n)?.total, format: kb },
      { name: `storage, ${n} branches: checkpoint rows`, of: (r) => at(r.storage, n)?.checkpointRows, format: String },
    ]),
    ...(sample.storageInWaves
      ? [
          {
            name: `storage, ${sample.storageInWaves.branches} branches, limit 5: KiB`,
            of: (r: BenchResults) => r.storageInWaves?.total,
            format: kb,
          },
        ]
      : []),
  ];
}

const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;

export function compareResearch(before: BenchResults[], after: BenchResults[]): string {
  const rows = figures(before[0]!).map((figure) => {
    const b = before.map(figure.of).filter((v): v is number => v !== undefined);
    const a = after.map(figure.of).filter((v): v is number => v !== undefined);
    const change = b.length && a.length ? `${(mean(a) / mean(b)).toFixed(2)}` : "";
    return [figure.name, b.map(figure.format).join(" / "), a.map(figure.format).join(" / "), change];
  });
  return table(
    ["figure (medians)", `before (${before.length} runs)`, `after (${after.length} runs)`, "after / before"],
    rows,
  );
}

export function compareStartup(startup: StartupResult): string {
  const suffix = ` (${startup.against})`;
  const rows = startup.rows
    .filter((row) => !row.name.endsWith(suffix))
    .flatMap((row) => {
      const before = startup.rows.find((r) => r.name === `${row.name}${suffix}`);
      return before
        ? [
            [
              row.name,
              ms(before.wallMs.median),
              ms(row.wallMs.median),
              (row.wallMs.median / before.wallMs.median).toFixed(2),
            ],
          ]
        : [];
    });
  return table(
    [
      `CLI start-up, wall ms (medians of ${startup.baselineMs.n} interleaved rounds; node -e 0 = ${ms(startup.baselineMs.median)})`,
      "before",
      "after",
      "after / before",
    ],
    rows,
  );
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({
    options: {
      before: { type: "string", multiple: true },
      after: { type: "string", multiple: true },
      startup: { type: "string" },
    },
  });
  if (!values.before?.length || !values.after?.length) {
    process.stderr.write(`--before and --after each need at least one JSON file\n\n${USAGE}`);
    process.exit(2);
  }
  process.stdout.write(`${compareResearch(values.before.map(research), values.after.map(research))}\n`);
  if (values.startup) {
    const { startup } = JSON.parse(readFileSync(values.startup, "utf8")) as ResultsFile;
    if (!startup?.against) {
      process.stderr.write(`${values.startup} holds no start-up run with --startup-against\n`);
      process.exit(2);
    }
    process.stdout.write(`\n${compareStartup(startup)}\n`);
  }
}
