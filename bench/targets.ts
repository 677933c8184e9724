import type { EngineResult } from "./enterprise_workflow/engine.js";
import type { LoggingCost } from "./enterprise_workflow/logging.js";
import type { SubworkflowOverhead } from "./enterprise_workflow/subworkflow.js";
import type { BenchResults } from "./parallel_workflow/harness.js";
import { ms, table, x } from "./report.js";

/**
 * Every target `npm run bench` judges, in one table. A **budget** fails `npm run bench -- --check`
 * (exit 1) when it misses; a **goal** is printed with the rest and fails nothing: where the product
 * wants to be, further than this machine's floor allows today.
 *
 * Adding a figure's target is one entry: the workflow whose figures it reads, what it measures
 * from them (undefined when this run did not measure it: --quick, --workflow), and its limit,
 * which may itself be read from the same run (e.g. LangGraph's own bound). Say in a comment
 * what it protects. Ratios within one run only: the machine's load moves every absolute figure.
 */

/** Each workflow's figures as `npm run bench` writes them to latest.json under `workflows`. */
export interface BenchFigures {
  parallel_workflow?: BenchResults;
  enterprise_workflow?: EngineResult & { subworkflow?: SubworkflowOverhead };
  /** Not a workflow's: latest.json keeps it beside `workflows`, under `logging`. */
  logging?: LoggingCost;
}

export interface Target {
  name: string;
  kind: "budget" | "goal";
  /** The measured figure, or undefined when this run did not measure it. */
  measured(figures: BenchFigures): number | undefined;
  /** At most (`max`) or at least (`min`) this; a function when it is read from the same run. */
  max?: number | ((figures: BenchFigures) => number | undefined);
  min?: number;
  format: (value: number) => string;
}

const research = (f: BenchFigures) => f.parallel_workflow;
const criticalPath = (n: number) => (f: BenchFigures) => research(f)?.criticalPath.find((r) => r.branches === n);
const floor = (n: number) => (f: BenchFigures) => research(f)?.floor.find((r) => r.branches === n);
const threads = (n: number) => (f: BenchFigures) => research(f)?.concurrency.find((r) => r.threads === n);

const ownCpu = (branches: number, max: number): Target => ({
  // What our nodes, state and saver choices cost per run, beyond LangGraph's floor and the
  // agents' model calls: the figure every feature added to a node or a channel moves.
  name: `own CPU per run ≤ ${max} ms at ${branches} branches (L = 0; workflow − bare floor − Promise.all, stock PostgresSaver)`,
  kind: "budget",
  measured: (f) => floor(branches)(f)?.ownCpuMs,
  max,
  format: (v) => `${ms(v)} ms`,
});

const cpuOverFloor = (branches: number, max: number): Target => ({
  // The workflow as shipped (batched saver) against LangGraph's bare topology on PostgresSaver:
  // how much of a core a run needs beyond what LangGraph alone needs, so how many runs a process holds.
  name: `workflow CPU / bare floor ≤ ${max}× at ${branches} branches (L = 0)`,
  kind: "budget",
  measured: (f) => floor(branches)(f)?.cpuOverFloor,
  max,
  format: x,
});

const wallOverIdeal = (branches: number, margin: number): Target => ({
  // How close a run comes to its model calls' critical path, measured against what LangGraph
  // and Postgres alone allow in the same run (the bare topology's wall at L = 0 added to the ideal).
  name: `wall / ideal ≤ bare LangGraph bound + ${margin} at ${branches} branches (L = 100 ms)`,
  kind: "budget",
  measured: (f) => criticalPath(branches)(f)?.wallOverIdeal,
  max: (f) => {
    const bound = criticalPath(branches)(f)?.frameworkBound;
    return bound === undefined ? undefined : bound + margin;
  },
  format: x,
});

const overPromiseAll = (branches: number, max: number): Target => ({
  // The orchestration's wall cost over the same model calls as plain async code: the fan-out,
  // the saves between super-steps and our nodes' own work, with the agents' latency held equal.
  name: `workflow / Promise.all ≤ ${max}× at ${branches} branches (L = 100 ms)`,
  kind: "budget",
  measured: (f) => criticalPath(branches)(f)?.workflowOverPromiseAll,
  max,
  format: x,
});

export const TARGETS: Target[] = [
  ownCpu(5, 10),
  ownCpu(100, 40),
  cpuOverFloor(5, 1.3),
  cpuOverFloor(20, 1.5),
  cpuOverFloor(100, 1.6),
  wallOverIdeal(5, 0.03),
  wallOverIdeal(100, 0.08),
  overPromiseAll(5, 1.05),
  overPromiseAll(100, 1.15),
  {
    // The engine's interpretation of a definition (the orchestrator's turn, a Send per unit of
    // work, the larger state) against the same graph written by hand: what a definition costs.
    name: "engine / hand-written StateGraph per step ≤ 1.3× (209 no-op steps, Postgres)",
    kind: "budget",
    measured: (f) => f.enterprise_workflow?.engineOverHandWritten,
    max: 1.3,
    format: x,
  },
  {
    // Structured logs stay off the hot path: at the default level a run pays for its one line and
    // for nothing at the levels that are off (issue 29's budget; tracing off is the default).
    name: "log at info / log off ≤ 1.02× CPU per run (engine, 55 no-op steps, in memory)",
    kind: "budget",
    measured: (f) => f.logging?.infoOverOff,
    max: 1.02,
    format: (v) => `${v.toFixed(3)}×`,
  },
  {
    // Many threads in one process share one core: CPU per run sets how many a process completes per second.
    name: "50 threads in one process ≥ 0.30× of ideal throughput (5 branches, L = 100 ms)",
    kind: "budget",
    measured: (f) => threads(50)(f)?.ofIdeal,
    min: 0.3,
    format: x,
  },
  {
    // Linear storage: each added branch costs the same bytes, so a wide run's size is predictable.
    name: "bytes each added branch stores flat within 20 % (linear growth, 5 → 20 → 100 branches)",
    kind: "goal",
    measured: (f) => {
      const growth = research(f)?.marginalGrowth;
      return growth === undefined ? undefined : Math.abs(growth - 1);
    },
    max: 0.2,
    format: (v) => `${(100 * v).toFixed(0)} % apart`,
  },
  {
    // Where the API server should be: 50 runs at once over two processes near the ideal.
    name: "API server, 50 threads on 2 processes ≥ 0.8× of ideal throughput",
    kind: "goal",
    measured: (f) => research(f)?.server.find((r) => r.processes === 2)?.ofIdeal,
    min: 0.8,
    format: x,
  },
  {
    // One run through the API costs little more than invoking the graph in process.
    name: "API run ≤ 1.15× the graph invoked directly",
    kind: "goal",
    measured: (f) => research(f)?.apiOverhead?.apiOverDirect,
    max: 1.15,
    format: x,
  },
];

export interface Verdict {
  target: Target;
  value?: number;
  limit?: number;
  /** Undefined when this run did not measure the figure. */
  met?: boolean;
}

export function judge(figures: BenchFigures, targets: Target[] = TARGETS): Verdict[] {
  return targets.map((target) => {
    const value = target.measured(figures);
    const limit = typeof target.max === "function" ? target.max(figures) : (target.max ?? target.min);
    if (value === undefined || limit === undefined) return { target };
    const met = target.min !== undefined ? value >= limit : value <= limit;
    return { target, value, limit, met };
  });
}

export const missed = (verdicts: Verdict[]) => verdicts.filter((v) => v.target.kind === "budget" && v.met === false);

export function renderVerdicts(verdicts: Verdict[]): string {
  return table(
    ["target", "kind", "measured", "limit", "met"],
    verdicts.map(({ target, value, limit, met }) => [
      target.name,
      target.kind,
      value === undefined ? "not measured" : target.format(value),
      limit === undefined ? "" : `${target.min !== undefined ? "≥" : "≤"} ${target.format(limit)}`,
      met === undefined ? "" : met ? "yes" : "**no**",
    ]),
  );
}
