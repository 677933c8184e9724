// npm run bench [-- --check | --quick | --repeats N | --workflow NAME | --startup-only | --help]
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { enterpriseWorkflowBench } from "./enterprise_workflow/engine.js";
import { type LoggingCost, measureLoggingCost, renderLoggingCost } from "./enterprise_workflow/logging.js";
import { parallelWorkflowBench } from "./parallel_workflow/bench.js";
import { DEFAULT_OPTIONS } from "./parallel_workflow/harness.js";
import { measureStartup, renderStartup } from "./startup.js";
import { judge, missed, renderVerdicts, type BenchFigures, type Verdict } from "./targets.js";
import type { BenchSettings, WorkflowBench } from "./workflows.js";

/** Each workflow's bench, in the order they run and print: bench/<workflow>/ holds what is its own. */
const BENCHES: WorkflowBench[] = [parallelWorkflowBench, enterpriseWorkflowBench];

const USAGE = `Usage: npm run bench [-- options]

Benchmarks the CLI's start-up, then each workflow, on Postgres (DATABASE_URL, else the embedded one):
  parallel_workflow    against the ideal critical path, plain Promise.all and a bare LangGraph graph of the same
                       topology; concurrency, storage, the API server
  enterprise_workflow  the engine's overhead per step against a hand-written StateGraph of the same shape, and a
                       subworkflow step's against running its child directly (a ratio per mode)
Prints markdown tables on stdout, progress on stderr, and writes bench/results/latest.json. Ends with
every target of bench/targets.ts against this run's figures.

Options:
  --check          exit 1 when a budget in bench/targets.ts misses (each named on stderr); figures
                   this run did not measure (--quick, --workflow) are not judged
  --judge FILE     run nothing: judge the figures of a latest.json written before (with --check, exit as it would)
  --workflow NAME  only this workflow's bench (repeatable): ${BENCHES.map((b) => b.workflow).join(", ")}
  --startup-only   only the CLI start-up figures (each command as a whole process); writes JSON only with --out
  --logging-only   only the log's cost per run (info against silent); writes JSON only with --out
  --startup-against DIR
                   also time the CLI of another checkout of the project (e.g. before a change) in the same rounds
  --quick          2 repeats and fewer sizes: seconds, not figures to quote
  --repeats N      timed runs per figure (default ${DEFAULT_OPTIONS.repeats}; the engine's 5); medians are reported with min and max
  --latency MS     simulated model latency (default ${DEFAULT_OPTIONS.latencyMs})
  --out FILE       JSON output (default bench/results/latest.json)
  -h, --help       this text
`;

function fail(problem: string): never {
  process.stderr.write(`${problem}\n\n${USAGE}`);
  process.exit(2);
}

const { values } = (() => {
  try {
    return parseArgs({
      options: {
        check: { type: "boolean", default: false },
        judge: { type: "string" },
        quick: { type: "boolean", default: false },
        "startup-only": { type: "boolean", default: false },
        "logging-only": { type: "boolean", default: false },
        "startup-against": { type: "string" },
        workflow: { type: "string", multiple: true },
        repeats: { type: "string" },
        latency: { type: "string" },
        out: { type: "string" },
        help: { type: "boolean", short: "h", default: false },
      },
    });
  } catch (error) {
    return fail(error instanceof Error ? error.message : String(error));
  }
})();

if (values.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}

/** Prints every target against the figures; with --check, names each missed budget and sets the exit code. */
function report(verdicts: Verdict[]) {
  process.stdout.write(`\n### Targets (bench/targets.ts)\n\n${renderVerdicts(verdicts)}\n`);
  if (!values.check) return;
  const misses = missed(verdicts);
  for (const v of misses)
    process.stderr.write(`[bench --check] missed: ${v.target.name}: ${v.target.format(v.value!)}\n`);
  process.stderr.write(
    `[bench --check] ${misses.length ? `${misses.length} budget(s) missed` : "every budget measured is met"}\n`,
  );
  process.exitCode = misses.length ? 1 : 0;
}

if (values.judge) {
  const file = values.judge;
  const figures = (() => {
    try {
      const written = JSON.parse(readFileSync(file, "utf8")) as { workflows?: BenchFigures; logging?: LoggingCost };
      return written.workflows && { ...written.workflows, ...(written.logging ? { logging: written.logging } : {}) };
    } catch (error) {
      return fail(`--judge ${file}: ${error instanceof Error ? error.message : String(error)}`);
    }
  })();
  if (!figures) fail(`--judge ${file}: no workflows' figures in it (written by --startup-only?)`);
  report(judge(figures));
  process.exit();
}

function positiveInt(raw: string | undefined, name: string): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) fail(`--${name} must be a positive integer, got '${raw}'`);
  return n;
}

const unknown = (values.workflow ?? []).filter((name) => !BENCHES.some((b) => b.workflow === name));
if (unknown.length)
  fail(`--workflow ${unknown[0]} has no bench: use one of ${BENCHES.map((b) => b.workflow).join(", ")}`);
const benches = values.workflow ? BENCHES.filter((b) => values.workflow!.includes(b.workflow)) : BENCHES;

const progress = (message: string) =>
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
const settings: BenchSettings = {
  quick: values.quick,
  ...(values.repeats ? { repeats: positiveInt(values.repeats, "repeats") } : {}),
  ...(values.latency ? { latencyMs: positiveInt(values.latency, "latency") } : {}),
  progress,
};

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const out = path.resolve(values.out ?? path.join(root, "bench/results/latest.json"));
const began = performance.now();
/** The log's cost per run: quick enough to come with every run, and alone with --logging-only. */
async function loggingCost(): Promise<LoggingCost> {
  const logging = await measureLoggingCost({
    steps: 50,
    runs: settings.quick ? 5 : 20,
    rounds: settings.repeats ?? (settings.quick ? 3 : 9),
    progress,
  });
  process.stdout.write(`### The log's cost per run\n\n${renderLoggingCost(logging)}\n`);
  return logging;
}
if (values["logging-only"]) {
  const logging = await loggingCost();
  if (values.out) writeFileSync(out, `${JSON.stringify({ date: new Date().toISOString(), logging }, null, 2)}\n`);
  report(judge({ logging }));
  process.exit();
}
const startup = await measureStartup({
  repeats: settings.repeats ?? (settings.quick ? 2 : DEFAULT_OPTIONS.repeats),
  schema: DEFAULT_OPTIONS.schema,
  ...(values["startup-against"] ? { against: values["startup-against"] } : {}),
  progress,
});
let verdicts: Verdict[] = [];
if (!values["startup-only"]) {
  const workflows: Record<string, object> = {};
  for (const bench of benches) {
    const section = await bench.run(settings);
    workflows[bench.workflow] = section.figures;
    process.stdout.write(`### ${bench.title} (${bench.workflow})\n\n${section.markdown}\n`);
  }
  const logging = await loggingCost();
  mkdirSync(path.dirname(out), { recursive: true });
  // Written whole or not at all: an interrupted bench leaves the last good figures.
  const durationSeconds = (performance.now() - began) / 1000;
  writeFileSync(
    `${out}.tmp`,
    `${JSON.stringify({ date: new Date().toISOString(), durationSeconds, startup, workflows, logging }, null, 2)}\n`,
  );
  renameSync(`${out}.tmp`, out);
  process.stderr.write(`[bench] wrote ${path.relative(process.cwd(), out)}\n`);
  verdicts = judge({ ...(workflows as BenchFigures), logging });
} else if (values.out) {
  writeFileSync(out, `${JSON.stringify({ date: new Date().toISOString(), startup }, null, 2)}\n`);
}
process.stdout.write(renderStartup(startup));
if (verdicts.length) report(verdicts);
