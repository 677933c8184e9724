import type { BaseCheckpointSaver } from "@langchain/langgraph-checkpoint";
import type pg from "pg";
import { appendDefinitionVersions, listDefinitionVersions, type DefinitionVersion } from "../checkpoints/enterprise_workflow/definition_versions.js";
import { collectMetrics, stepFigures, type DurationStats, type WorkflowMetrics } from "./metrics_collector.js";
import { WORKFLOWS, workflowNames } from "../graphs/registry.js";
import { applyRecommendations, diffDefinitions, isApplicable, shapeOfDefinition, type DefinitionChange } from "../nodes/enterprise_workflow/optimizer/apply.js";
import { optimize, type OptimizationReport, type WorkflowShape } from "../nodes/enterprise_workflow/optimizer/optimizer.js";
import type { AdvancedWorkflow } from "../state/enterprise_workflow/definition.js";
import { loadNamedDefinition } from "../state/enterprise_workflow/loader.js";
import { InputError } from "../state/shared/errors.js";

/**
 * The `metrics`, `optimize` and `workflow diff` commands as functions: each takes an open
 * database and its options, returns data for `--json`, and has a formatter for the terminal.
 */
export interface MetricsDatabase {
  pool: pg.Pool;
  schema: string;
  checkpointer: BaseCheckpointSaver;
}

/** Every graph the product runs, by id, with its node names: a thread's graph is told by them. */
export function knownGraphs(): Record<string, readonly string[]> {
  return Object.fromEntries(workflowNames().map((name) => [name, WORKFLOWS[name].nodes]));
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
  return collectMetrics({ ...db, graphs: knownGraphs(), ...(options.workflow ? { workflow: options.workflow } : {}), ...(since === undefined ? {} : { since }) });
}

const ms = (value: number) => (value >= 10_000 ? `${(value / 1000).toFixed(1)}s` : `${Math.round(value)}ms`);
const pct = (value: number) => `${Math.round(value * 100)}%`;
const durations = (d: DurationStats) => `mean ${ms(d.meanMs)}, p50 ${ms(d.p50Ms)}, p95 ${ms(d.p95Ms)}, σ ${ms(d.stdDevMs)}`;

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  return [header, ...rows].map((row) => row.map((cell, i) => cell.padEnd(widths[i]!)).join("  ").trimEnd()).join("\n");
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
        const statuses = Object.entries(m.serverRuns.byStatus).map(([status, n]) => `${n} ${status}`).join(", ");
        lines.push(`  server runs: ${m.serverRuns.total} (${statuses}), ${m.serverRuns.reclaimed} reclaimed after a crash`);
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
        table(["  STEP", "TIMED", "MEAN", "P50", "P95", "SIGMA", "OK", "RETRIES", "TIMEOUTS", "MODEL", "TOKENS", "REVIEWS"], rows.map(([first, ...rest]) => [`  ${first!}`, ...rest])),
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

export interface OptimizeResult extends OptimizationReport {
  /** The definition version the figures were measured on; undefined for a graph (its structure is code). */
  version?: number;
  applied?: { version: number; changes: DefinitionChange[]; recommendations: string[] };
}

/** The newest stored version, else the definition file as version 1 (not stored until a change is applied). */
export async function currentDefinition(db: MetricsDatabase, name: string): Promise<{ definition: AdvancedWorkflow; version: number; stored: boolean }> {
  const versions = await listDefinitionVersions(db.pool, db.schema, name);
  const latest = versions[versions.length - 1];
  if (latest) return { definition: latest.definition, version: latest.version, stored: true };
  return { definition: await loadNamedDefinition(name), version: 1, stored: false };
}

/** `orchestra optimize WORKFLOW [--apply]`: bottlenecks and recommendations from the workflow's measured runs. */
export async function optimizeWorkflow(db: MetricsDatabase, options: OptimizeOptions): Promise<OptimizeResult> {
  const graphs = knownGraphs();
  const isGraph = options.workflow in graphs;
  const [measured] = await metrics(db, { workflow: options.workflow, ...(options.since ? { since: options.since } : {}), ...(options.now ? { now: options.now } : {}) });
  if (isGraph) {
    if (options.apply) throw new InputError(`${options.workflow} is a graph built in code, so --apply has nothing to write: optimize an engine definition by name instead`);
    const shape: WorkflowShape = { name: options.workflow, steps: graphs[options.workflow]!.map((stepId) => ({ stepId, dependencies: [], groupable: false })) };
    return optimize(shape, measured ? stepFigures(measured) : [], measured?.observations ?? []);
  }
  const current = await currentDefinition(db, options.workflow);
  const report = optimize(shapeOfDefinition(current.definition), measured ? stepFigures(measured) : [], measured?.observations ?? []);
  const result: OptimizeResult = { ...report, version: current.version };
  if (!options.apply) return result;
  const applicable = report.recommendations.filter(isApplicable);
  if (!applicable.length) throw new InputError(`nothing to apply to ${options.workflow}: no applicable recommendation from ${report.runs} measured runs; run it more, then optimize again`);
  const next = applyRecommendations(current.definition, applicable);
  const appended: { definition: AdvancedWorkflow; note: string }[] = [
    ...(current.stored ? [] : [{ definition: current.definition, note: "the definition file, before the first change" }]),
    { definition: next, note: `applied ${applicable.map((r) => r.id).join(", ")}` },
  ];
  const saved = await appendDefinitionVersions(db.pool, db.schema, options.workflow, appended);
  const written = saved[saved.length - 1]!;
  return { ...result, applied: { version: written.version, changes: diffDefinitions(saved[saved.length - 2]?.definition ?? current.definition, written.definition), recommendations: applicable.map((r) => r.id) } };
}

export function formatOptimization(result: OptimizeResult): string {
  const lines = [`${result.workflow}${result.version ? ` v${result.version}` : ""}: ${result.runs} measured runs`];
  if (!result.bottlenecks.length) lines.push("bottlenecks: none");
  for (const b of result.bottlenecks) lines.push(`bottleneck ${b.stepId}: ${b.reasons.join(" and ")} (mean ${ms(b.meanMs)}, σ ${ms(b.stdDevMs)}, severity ${b.severity.toFixed(2)})`);
  if (!result.recommendations.length) lines.push("recommendations: none");
  for (const r of result.recommendations) {
    lines.push(`[${r.priority}] ${r.type}: ${r.description}`);
    lines.push(`    expected ${r.expectedImprovement}% faster · effort ${r.implementationEffort} · risk ${r.riskLevel}${isApplicable(r) ? "" : " · report only (not written by --apply)"}`);
  }
  if (result.applied) lines.push(`applied: wrote ${result.workflow} v${result.applied.version}`, formatDiff(result.applied.changes));
  return lines.join("\n");
}

export interface DiffOptions {
  workflow: string;
  /** Default: the version before `to`. */
  from?: number;
  /** Default: the newest. */
  to?: number;
}

export interface DiffResult {
  workflow: string;
  from: number;
  to: number;
  changes: DefinitionChange[];
}

/** `orchestra workflow diff NAME [FROM] [TO]`: what changed between two stored versions. */
export async function diffWorkflowVersions(db: MetricsDatabase, options: DiffOptions): Promise<DiffResult> {
  const versions = await listDefinitionVersions(db.pool, db.schema, options.workflow);
  if (versions.length < 2 && options.from === undefined) {
    throw new InputError(`${options.workflow} has ${versions.length ? "one version" : "no stored versions"}: 'orchestra optimize ${options.workflow} --apply' writes the next`);
  }
  const find = (version: number): DefinitionVersion => {
    const found = versions.find((v) => v.version === version);
    if (!found) throw new InputError(`${options.workflow} has no version ${version}: its versions are ${versions.map((v) => v.version).join(", ") || "none"}`);
    return found;
  };
  const to = find(options.to ?? versions[versions.length - 1]!.version);
  const from = find(options.from ?? to.version - 1);
  return { workflow: options.workflow, from: from.version, to: to.version, changes: diffDefinitions(from.definition, to.definition) };
}

export function formatDiff(changes: readonly DefinitionChange[]): string {
  if (!changes.length) return "  (no changes)";
  const show = (value: unknown) => JSON.stringify(value);
  return changes
    .map((c) => (c.from === undefined ? `  + ${c.path}: ${show(c.to)}` : c.to === undefined ? `  - ${c.path}: ${show(c.from)}` : `  ~ ${c.path}: ${show(c.from)} → ${show(c.to)}`))
    .join("\n");
}
