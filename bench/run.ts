// npm run bench [-- --quick | --repeats N | --help]
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { DEFAULT_OPTIONS, runBench, type BenchOptions } from "./harness.js";
import { renderMarkdown } from "./report.js";
import { measureStartup, renderStartup } from "./startup.js";

const USAGE = `Usage: npm run bench [-- options]

Benchmarks the workflow against the ideal critical path, plain Promise.all and a bare
LangGraph graph of the same topology, on Postgres (DATABASE_URL, else the embedded one).
Prints a markdown table on stdout, progress on stderr, and writes bench/results/latest.json.

Options:
  --startup-only   only the CLI start-up figures (each command as a whole process); writes no JSON
  --quick          2 repeats, 5 and 20 branches, 1 and 10 threads: seconds, not figures to quote
  --repeats N      timed runs per figure (default ${DEFAULT_OPTIONS.repeats}); medians are reported with min and max
  --latency MS     simulated model latency (default ${DEFAULT_OPTIONS.latencyMs})
  --out FILE       JSON output (default bench/results/latest.json)
  -h, --help       this text
`;

const { values } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    "startup-only": { type: "boolean", default: false },
    repeats: { type: "string" },
    latency: { type: "string" },
    out: { type: "string" },
    help: { type: "boolean", short: "h", default: false },
  },
});

if (values.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}

function positiveInt(raw: string | undefined, name: string): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) {
    process.stderr.write(`--${name} must be a positive integer, got '${raw}'\n\n${USAGE}`);
    process.exit(2);
  }
  return n;
}

const options: Partial<BenchOptions> = {
  serverProcesses: [1, 2],
  ...(values.quick ? { repeats: 2, branches: [5, 20], floorBranches: [5, 20], threads: [1, 10] } : {}),
  ...(values.repeats ? { repeats: positiveInt(values.repeats, "repeats") } : {}),
  ...(values.latency ? { latencyMs: positiveInt(values.latency, "latency") } : {}),
  progress: (message) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`),
};

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const out = path.resolve(values.out ?? path.join(root, "bench/results/latest.json"));
const startup = await measureStartup({
  repeats: options.repeats ?? DEFAULT_OPTIONS.repeats,
  schema: DEFAULT_OPTIONS.schema,
  ...(options.progress ? { progress: options.progress } : {}),
});
if (!values["startup-only"]) {
  const results = await runBench(options);
  process.stdout.write(renderMarkdown(results) + "\n");
  mkdirSync(path.dirname(out), { recursive: true });
  // Written whole or not at all: an interrupted bench leaves the last good figures.
  writeFileSync(`${out}.tmp`, `${JSON.stringify({ ...results, startup }, null, 2)}\n`);
  renameSync(`${out}.tmp`, out);
  process.stderr.write(`[bench] wrote ${path.relative(process.cwd(), out)}\n`);
}
process.stdout.write(renderStartup(startup));
