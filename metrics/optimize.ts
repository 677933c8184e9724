import { manifestOf, WORKFLOWS, workflowNames, workflowOfThread, type WorkflowName } from "../graphs/registry.js";
import { isApplicable, optimize, type WorkflowShape } from "./optimizer_analysis.js";
import { InputError } from "../state/shared/errors.js";
import {
  collectMetrics,
  stepFigures,
  type DurationStats,
  type MetricsDatabase,
  type WorkflowMetrics,
} from "./collector.js";
import { formatDiff, type OptimizeResult, type WorkflowVariants } from "./variants.js";

/**
 * The `metrics` and `optimize` commands as functions, for every workflow: each takes an open
 * database and its options, returns data for `--json`, and has a formatter for the terminal; the
 * server's metrics routes call the same functions. A workflow that runs named variants (the
 * engine's definitions) reads and optimizes them through its registry entry's `variants` hook.
 */

/** Every graph the product runs, by id, with its node names: a thread's graph is told by them. */
export function knownGraphs(): Record<string, readonly string[]> {
  return Object.fromEntries(workflowNames().map((name) => [name, WORKFLOWS[name].nodes]));
}

/** The workflows that run named variants, in the registry's order, their hooks loaded. */
async function workflowVariants(): Promise<{ graphId: WorkflowName; variants: WorkflowVariants }[]> {
  const all = await Promise.all(
    workflowNames().map(async (graphId) => {
      const { variants } = manifestOf(graphId);
      return variants ? [{ graphId, variants: await variants() }] : [];
    }),
  );
  return all.flat();
}

/** Every named variant of every workflow, e.g. the engine's definitions. */
export async function variantNames(): Promise<string[]> {
  return (await Promise.all((await workflowVariants()).map(({ variants }) => variants.names()))).flat();
}

/**
 * The variants `name` is one of: the first workflow's that lists it, else the first workflow's,
 * whose own checks then say what is missing (a name with stored versions only is listed by none).
 */
async function variantsOf(name: string): Promise<WorkflowVariants> {
  const all = await workflowVariants();
  for (const { variants } of all) if ((await variants.names()).includes(name)) return variants;
  const first = all[0];
  if (!first) throw new InputError(`no workflow named '${name}': use one of ${workflowNames().join(", ")}`);
  return first.variants;
}

/** Throws InputError, before any database opens, when `name` is neither a graph nor a named variant. */
export async function checkOptimizable(name: string): Promise<void> {
  if (!(name in knownGraphs())) await (await variantsOf(name)).check(name);
}

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h|d|w)$/;
const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;

/** "90m", "24h", "7d" → milliseconds; InputError naming the format otherwise. */
export function parseSince(text: string): number {
  const match = DURATION.exec(text.trim());
  if (!match) throw new InputError(`--since '${text}' is not a duration: use a number and a unit, e.g. 30m, 24h or 7d`);
  return Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
}

export interface MetricsOptions {
  workflow?: string;
  /** A duration back from now ("24h"). */
  since?: string;
  now?: number;
}

/** `orchestra metrics [--workflow NAME] [--since DURATION]`. */
export async function metrics(db: MetricsDatabase, options: MetricsOptions = {}): Promise<WorkflowMetrics[]> {
  const since = options.since === undefined ? undefined : (options.now ?? Date.now()) - parseSince(options.since);
  const variantSamplers = Object.fromEntries(
    (await workflowVariants()).map(({ graphId, variants }) => [graphId, variants.sample]),
  );
  return collectMetrics({
    ...db,
    workflowOf: workflowOfThread,
    variantSamplers,
    ...(options.workflow ? { workflow: options.workflow } : {}),
    ...(since === undefined ? {} : { since }),
  });
}

const ms = (value: number) => (value >= 10_000 ? `${(value / 1000).toFixed(1)}s` : `${Math.round(value)}ms`);
const pct = (value: number) => `${Math.round(value * 100)}%`;
const durations = (d: DurationStats) =>
  `mean ${ms(d.meanMs)}, p50 ${ms(d.p50Ms)}, p95 ${ms(d.p95Ms)}, σ ${ms(d.stdDevMs)}`;

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  return [header, ...rows]
    .map((row) =>
      row
        .map((cell, i) => cell.padEnd(widths[i]!))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

export function formatMetrics(all: readonly WorkflowMetrics[]): string {
  if (!all.length) return "no runs found (try a longer --since, or another --workflow)";
  return all
    .map((m) => {
      const lines = [
        `${m.workflow} (${m.graphId}) · ${m.threads} threads, ${m.completed} completed, ${m.failed} failed · success ${pct(m.successRate)}`,
        `  wall time: ${m.duration.count ? durations(m.duration) : "no finished runs"}`,
        `  resources: ${m.resources.checkpoints} checkpoints, ${(m.resources.storedBytes / 1024).toFixed(0)} KiB stored, up to ${m.resources.peakParallelSteps} steps at once`,
      ];
      if (m.serverRuns) {
        const statuses = Object.entries(m.serverRuns.byStatus)
          .map(([status, n]) => `${n} ${status}`)
          .join(", ");
        lines.push(
          `  server runs: ${m.serverRuns.total} (${statuses}), ${m.serverRuns.reclaimed} reclaimed after a crash`,
        );
      }
      const rows = m.steps.map((s) => [
        s.stepId,
        String(s.count),
        ms(s.meanMs),
        ms(s.p50Ms),
        ms(s.p95Ms),
        ms(s.stdDevMs),
        pct(s.successRate),
        String(s.retries),
        String(s.timeouts),
        String(s.modelCalls),
        s.tokens === null ? "-" : String(s.tokens),
        String(s.reviewWaits),
      ]);
      lines.push(
        table(
          ["  STEP", "TIMED", "MEAN", "P50", "P95", "SIGMA", "OK", "RETRIES", "TIMEOUTS", "MODEL", "TOKENS", "REVIEWS"],
          rows.map(([first, ...rest]) => [`  ${first!}`, ...rest]),
        ),
      );
      return lines.join("\n");
    })
    .join("\n\n");
}

export interface OptimizeOptions {
  workflow: string;
  /** Write the applicable recommendations as a new version of the definition. */
  apply?: boolean;
  since?: string;
  now?: number;
}

/** `orchestra optimize WORKFLOW [--apply]`: bottlenecks and recommendations from the workflow's measured runs. */
export async function optimizeWorkflow(db: MetricsDatabase, options: OptimizeOptions): Promise<OptimizeResult> {
  const graphs = knownGraphs();
  const isGraph = options.workflow in graphs;
  const [measured] = await metrics(db, {
    workflow: options.workflow,
    ...(options.since ? { since: options.since } : {}),
    ...(options.now ? { now: options.now } : {}),
  });
  const figures = measured ? stepFigures(measured) : [];
  const runs = measured?.observations ?? [];
  if (isGraph) {
    if (options.apply)
      throw new InputError(
        `${options.workflow} is a graph built in code, so --apply has nothing to write: optimize an engine definition by name instead`,
      );
    const shape: WorkflowShape = {
      name: options.workflow,
      steps: graphs[options.workflow]!.map((stepId) => ({ stepId, dependencies: [], groupable: false })),
    };
    return optimize(shape, figures, runs);
  }
  return (await variantsOf(options.workflow)).optimize(db, options.workflow, { figures, runs }, options.apply ?? false);
}

export function formatOptimization(result: OptimizeResult): string {
  const lines = [`${result.workflow}${result.version ? ` v${result.version}` : ""}: ${result.runs} measured runs`];
  if (!result.bottlenecks.length) lines.push("bottlenecks: none");
  for (const b of result.bottlenecks)
    lines.push(
      `bottleneck ${b.stepId}: ${b.reasons.join(" and ")} (mean ${ms(b.meanMs)}, σ ${ms(b.stdDevMs)}, severity ${b.severity.toFixed(2)})`,
    );
  if (!result.recommendations.length) lines.push("recommendations: none");
  for (const r of result.recommendations) {
    lines.push(`[${r.priority}] ${r.type}: ${r.description}`);
    lines.push(
      `    expected ${r.expectedImprovement}% faster · effort ${r.implementationEffort} · risk ${r.riskLevel}${isApplicable(r) ? "" : " · report only (not written by --apply)"}`,
    );
  }
  if (result.applied)
    lines.push(`applied: wrote ${result.workflow} v${result.applied.version}`, formatDiff(result.applied.changes));
  return lines.join("\n");
}
