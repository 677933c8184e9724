// npx tsx bench/profile.ts <workload> [options]   |   npx tsx bench/profile.ts --table FILE.cpuprofile
import { randomUUID } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { MemorySaver } from "@langchain/langgraph";
import { MemoryEnterpriseControls } from "../checkpoints/enterprise_workflow/controls.js";
import { openCheckpointer } from "../checkpoints/index.js";
import { compileEnterpriseWorkflow } from "../graphs/enterprise_workflow.js";
import { LATENCY_ENV } from "../models/offline/runtime.js";
import { engineServices } from "../nodes/enterprise_workflow/services.js";
import { definitionOf, groupsFor } from "./enterprise_workflow/engine.js";
import { pinIdleLoad } from "./idle_load.js";
import { allowWideFanOut, benchTasks, runWorkflow } from "./parallel_workflow/harness.js";
import { table } from "./report.js";
import { apiRun, startFleet } from "./server.js";
import { registeredWorkflow } from "./workflows.js";

const USAGE = `Usage:
  node --cpu-prof --cpu-prof-dir DIR --import tsx bench/profile.ts research --branches N --saver memory|postgres [--runs N]
  node --cpu-prof --cpu-prof-dir DIR --import tsx bench/profile.ts engine [--steps N] [--runs N]
  node --import tsx bench/profile.ts server --cpu-prof-dir DIR [--runs N]     (profiles the orchestra serve process)
  node --import tsx bench/profile.ts --table FILE.cpuprofile [--top N]

Runs one workload many times at L = 0 (the offline model, review never, DATABASE_URL's Postgres in a
schema of its own, dropped afterwards), for node --cpu-prof; --table prints a profile's self time by
area (the offline model, our code, each library, GC) and by function, as bench/README.md quotes them.
`;

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    branches: { type: "string", default: "5" },
    saver: { type: "string", default: "memory" },
    steps: { type: "string", default: "209" },
    runs: { type: "string" },
    table: { type: "string" },
    top: { type: "string", default: "15" },
    "cpu-prof-dir": { type: "string" },
    help: { type: "boolean", short: "h", default: false },
  },
});

const SCHEMA = "orchestra_bench_profile";

/**
 * The profile covers the whole process, module loading and the warm-up run included: the
 * measured runs' window (CLOCK_MONOTONIC, as V8 stamps its samples, so valid across processes)
 * goes next to it as window.<pid>.json, and --table counts only the samples inside it.
 */
const now = () => Number(process.hrtime.bigint() / 1000n);
function writeWindow(dir: string | undefined, pid: number, fromUs: number, runs: number) {
  if (!dir) return;
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, `window.${pid}.json`), JSON.stringify({ fromUs, toUs: now(), runs }));
}
const ownProfileDir = () => {
  const at = process.execArgv.indexOf("--cpu-prof-dir");
  return at >= 0
    ? process.execArgv[at + 1]
    : process.execArgv.find((a) => a.startsWith("--cpu-prof-dir="))?.split("=")[1];
};

async function research(branches: number, saver: string, runs: number) {
  const unpin = pinIdleLoad();
  const allowed = allowWideFanOut([branches]);
  const { compile } = await registeredWorkflow("parallel_workflow");
  const db = saver === "postgres" ? await openCheckpointer({ schema: SCHEMA }) : undefined;
  try {
    const workflow = compile(db ? db.checkpointer : new MemorySaver());
    await runWorkflow(workflow, branches);
    const from = now();
    for (let i = 0; i < runs; i++) await runWorkflow(workflow, branches);
    writeWindow(ownProfileDir(), process.pid, from, runs);
  } finally {
    allowed();
    unpin();
    if (db) {
      await db.pool.query(`DROP SCHEMA IF EXISTS "${SCHEMA}" CASCADE`);
      await db.close();
    }
  }
}

async function engine(steps: number, runs: number) {
  const db = await openCheckpointer({ schema: SCHEMA });
  try {
    const graph = compileEnterpriseWorkflow(db.checkpointer, engineServices(new MemoryEnterpriseControls()));
    const definition = definitionOf(groupsFor(steps));
    const run = () => graph.invoke({ definition, input: {} }, { configurable: { thread_id: randomUUID() } });
    await run();
    const from = now();
    for (let i = 0; i < runs; i++) await run();
    writeWindow(ownProfileDir(), process.pid, from, runs);
  } finally {
    await db.pool.query(`DROP SCHEMA IF EXISTS "${SCHEMA}" CASCADE`);
    await db.close();
  }
}

/** One `orchestra serve` under --cpu-prof, `runs` five-branch runs through the API one at a time. */
async function server(runs: number, profileDir: string) {
  mkdirSync(profileDir, { recursive: true });
  const db = await openCheckpointer({ schema: SCHEMA });
  const databaseUrl = db.pool.options.connectionString!;
  await db.close();
  const fleet = await startFleet({
    processes: 1,
    workers: 1,
    databaseUrl,
    schema: `${SCHEMA}_api`,
    latencyMs: 0,
    nodeOptions: ["--cpu-prof", "--cpu-prof-dir", profileDir],
  });
  try {
    const client = fleet.clients[0]!;
    const input = { taskQueue: benchTasks(5) };
    const run = async () => {
      const { thread_id } = await client.threads.create();
      await apiRun(client, "parallel_workflow", thread_id, input, { review: "never", maxConcurrency: 5 });
    };
    await run();
    const from = now();
    for (let i = 0; i < runs; i++) await run();
    writeWindow(profileDir, fleet.pids[0]!, from, runs);
  } finally {
    await fleet.stop();
    const cleanup = await openCheckpointer({ schema: `${SCHEMA}_api` });
    await cleanup.pool.query(`DROP SCHEMA IF EXISTS "${SCHEMA}_api" CASCADE`);
    await cleanup.close();
  }
  process.stderr.write(`profiles in ${profileDir}: ${readdirSync(profileDir).join(", ")}\n`);
}

// ---------------------------------------------------------------------------------------
// The table: self time by area and by function

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}
interface Window {
  fromUs: number;
  toUs: number;
  runs: number;
}

/** Which part of the process a frame belongs to: the offline model, our code, a library, or V8/Node. */
export function areaOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith("(") ? functionName : "(native)";
  if (url.startsWith("node:")) return "node internals";
  const inModules = url.lastIndexOf("/node_modules/");
  if (inModules >= 0) {
    const rest = url.slice(inModules + "/node_modules/".length).split("/");
    return rest[0]!.startsWith("@") ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  if (url.includes("/models/offline/")) return "offline model (test double)";
  const root = url.replace(/^file:\/\//, "").split("/");
  const top = root.findIndex((part) =>
    ["nodes", "state", "graphs", "checkpoints", "models", "server", "scripts", "bench"].includes(part),
  );
  return top >= 0 ? `ours: ${root[top]}/` : url;
}

function selfTimes(profile: CpuProfile, window: Window | undefined) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  let at = profile.startTime;
  profile.samples.forEach((id, i) => {
    const delta = profile.timeDeltas[i] ?? 0;
    at += delta;
    if (window && (at < window.fromUs || at > window.toUs)) return;
    self.set(id, (self.get(id) ?? 0) + delta);
  });
  const areas = new Map<string, number>();
  const functions = new Map<string, { area: string; us: number }>();
  let total = 0;
  let idle = 0;
  for (const [id, us] of self) {
    const { callFrame } = byId.get(id)!;
    if (callFrame.functionName === "(idle)") {
      idle += us;
      continue;
    }
    total += us;
    const area = areaOf(callFrame.url, callFrame.functionName);
    areas.set(area, (areas.get(area) ?? 0) + us);
    const file = callFrame.url
      .replace(/^.*\/node_modules\//, "")
      .replace(/^file:\/\/.*?\/(?=(nodes|state|graphs|checkpoints|models|server|scripts|bench)\/)/, "");
    const key = `${callFrame.functionName || "(anonymous)"} ${file}:${callFrame.lineNumber + 1}`;
    const entry = functions.get(key) ?? { area, us: 0 };
    entry.us += us;
    functions.set(key, entry);
  }
  return { total, idle, areas, functions };
}

export function renderProfile(profile: CpuProfile, window: Window | undefined, top: number): string {
  const { total, idle, areas, functions } = selfTimes(profile, window);
  const pct = (us: number) => `${((100 * us) / total).toFixed(1)} %`;
  const perRun = (us: number) => (window ? (us / 1000 / window.runs).toFixed(2) : "");
  const sorted = <T>(m: Map<string, T>, us: (t: T) => number) => [...m].sort((a, b) => us(b[1]) - us(a[1]));
  return [
    window
      ? `${window.runs} runs after a warm-up: ${(total / 1000).toFixed(0)} ms sampled busy, ${perRun(total)} ms per run (idle left out)`
      : `the whole process: ${(total / 1000).toFixed(0)} ms sampled busy (${(idle / 1000).toFixed(0)} ms idle left out)`,
    // V8 samples on a wall-clock timer: a thread waiting for a core is sampled where it stopped.
    "Samples are taken on a wall-clock timer: on a loaded machine a busy thread's waits for a core count where it stopped; read the shares.",
    "",
    table(
      ["area", "sampled ms per run", "self %"],
      sorted(areas, (us) => us)
        .slice(0, top)
        .map(([area, us]) => [area, perRun(us), pct(us)]),
    ),
    "",
    table(
      ["function", "area", "self %"],
      sorted(functions, (f) => f.us)
        .slice(0, top)
        .map(([fn, f]) => [`\`${fn}\``, f.area, pct(f.us)]),
    ),
    "",
  ].join("\n");
}

if (values.help) {
  process.stdout.write(USAGE);
} else if (values.table) {
  const pid = path.basename(values.table).split(".")[3];
  const windowFile = path.join(path.dirname(values.table), `window.${pid}.json`);
  const window = existsSync(windowFile) ? (JSON.parse(readFileSync(windowFile, "utf8")) as Window) : undefined;
  process.stdout.write(
    renderProfile(JSON.parse(readFileSync(values.table, "utf8")) as CpuProfile, window, Number(values.top)),
  );
} else {
  process.env[LATENCY_ENV] = "0";
  const [workload] = positionals;
  const runs = values.runs === undefined ? undefined : Number(values.runs);
  if (workload === "research") await research(Number(values.branches), values.saver, runs ?? 50);
  else if (workload === "engine") await engine(Number(values.steps), runs ?? 5);
  else if (workload === "server")
    await server(runs ?? 50, path.resolve(values["cpu-prof-dir"] ?? "bench/results/profiles"));
  else {
    process.stderr.write(`name a workload: research, engine or server\n\n${USAGE}`);
    process.exit(2);
  }
}
