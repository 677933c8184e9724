/**
 * The optimizer's decisions: pure functions of measured step figures, measured runs and the
 * workflow's dependency structure, for any workflow whose steps are measured (a graph's nodes, an
 * engine definition's steps). Nothing here reads a database or a clock.
 */

/** How one step performed over the runs measured. */
export interface StepFigures {
  stepId: string;
  /** Runs in which the step ran. */
  count: number;
  meanMs: number;
  p95Ms: number;
  /** Standard deviation of the step's durations across runs. */
  stdDevMs: number;
  timeouts: number;
}

/** One measured run: when each step ran, and a fingerprint of what it was given and what it gave. */
export interface RunObservation {
  wallMs: number;
  /** startedAt and finishedAt bound the step's turn; durationMs, when known, is its own work alone. */
  steps: Record<
    string,
    { startedAt: number; finishedAt: number; durationMs?: number; inputKey?: string; outputKey?: string }
  >;
}

/** The structure the recommendations respect: top-level steps and what each waits for. */
export interface StepShape {
  stepId: string;
  dependencies: string[];
  /** Only steps that may become children of a parallel step (an action, no conditions) are grouped. */
  groupable: boolean;
  timeoutSeconds?: number;
}

export interface WorkflowShape {
  name: string;
  steps: StepShape[];
  maxParallelSteps?: number;
}

export type BottleneckReason = "slow" | "variable";

export interface Bottleneck {
  stepId: string;
  reasons: BottleneckReason[];
  /** How far past the line the step is, as a fraction of the line: 0.5 is 50 % past it. */
  severity: number;
  meanMs: number;
  stdDevMs: number;
}

/** Sample standard deviation (n − 1); 0 for fewer than two values. */
export function standardDeviation(values: readonly number[]): number {
  if (values.length < 2) return 0;
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  return Math.sqrt(values.reduce((sum, v) => sum + (v - mean) ** 2, 0) / (values.length - 1));
}

/** A step whose σ exceeds this share of its mean is erratic: a ratio, so it means the same in ms and in s. */
export const VARIABILITY_LIMIT = 0.5;

/** Steps taking less than this share of all steps' time are never bottlenecks: their jitter costs nothing. */
export const NEGLIGIBLE_SHARE = 0.01;

/**
 * Steps flagged as bottlenecks, most severe first: slow when its mean exceeds the mean of the
 * step means plus their standard deviation (needs two steps or more), variable when its own σ
 * exceeds half its mean. Steps under 1 % of the steps' total time are left out.
 */
export function identifyBottlenecks(
  steps: readonly Pick<StepFigures, "stepId" | "meanMs" | "stdDevMs">[],
): Bottleneck[] {
  const means = steps.map((step) => step.meanMs);
  const total = means.reduce((a, b) => a + b, 0);
  const line = steps.length >= 2 ? total / means.length + standardDeviation(means) : Number.POSITIVE_INFINITY;
  const flagged: Bottleneck[] = [];
  for (const step of steps) {
    if (step.meanMs < NEGLIGIBLE_SHARE * total) continue;
    const reasons: BottleneckReason[] = [];
    const excesses: number[] = [];
    if (step.meanMs > line) {
      reasons.push("slow");
      excesses.push(line > 0 ? (step.meanMs - line) / line : 1);
    }
    const variabilityLine = VARIABILITY_LIMIT * step.meanMs;
    if (step.meanMs > 0 && step.stdDevMs > variabilityLine) {
      reasons.push("variable");
      excesses.push((step.stdDevMs - variabilityLine) / variabilityLine);
    }
    if (reasons.length)
      flagged.push({
        stepId: step.stepId,
        reasons,
        severity: Math.max(...excesses),
        meanMs: step.meanMs,
        stdDevMs: step.stdDevMs,
      });
  }
  return flagged.sort((a, b) => b.severity - a.severity || b.meanMs - a.meanMs);
}

export type RecommendationType = "parallelization" | "caching" | "resource";
export type Level = "low" | "medium" | "high";

export type SpecificChange =
  | { action: "create_parallel_container"; containerId: string; steps: string[]; maxConcurrent: number }
  | { action: "set_max_parallel_steps"; from: number; to: number }
  | { action: "set_cache_policy"; step: string; ttlSeconds: number; repeatedInputs: number }
  | { action: "set_timeout"; step: string; fromSeconds: number; toSeconds: number; p95Ms: number; timeouts: number };

export interface OptimizationRecommendation {
  id: string;
  type: RecommendationType;
  /** The rule's priority: parallelization 9, caching 8, resource 7. */
  priority: number;
  description: string;
  /** Percent of the run's wall time expected to be saved. */
  expectedImprovement: number;
  implementationEffort: Level;
  riskLevel: Level;
  specificChanges: SpecificChange[];
}

export const RULE_PRIORITY: Record<RecommendationType, number> = { parallelization: 9, caching: 8, resource: 7 };
export const PARALLEL_GROUP_SIZE = 3;

/** Every step each step waits for, directly or through others. */
export function ancestors(shape: WorkflowShape): Map<string, Set<string>> {
  const byId = new Map(shape.steps.map((step) => [step.stepId, step]));
  const memo = new Map<string, Set<string>>();
  const visit = (id: string, trail: Set<string>): Set<string> => {
    const known = memo.get(id);
    if (known) return known;
    const found = new Set<string>();
    for (const dependency of byId.get(id)?.dependencies ?? []) {
      if (trail.has(dependency)) continue;
      found.add(dependency);
      for (const further of visit(dependency, new Set([...trail, id]))) found.add(further);
    }
    memo.set(id, found);
    return found;
  };
  for (const step of shape.steps) visit(step.stepId, new Set());
  return memo;
}

/** True when neither step waits for the other, directly or through others. */
export function independent(above: Map<string, Set<string>>, a: string, b: string): boolean {
  return a !== b && !above.get(a)?.has(b) && !above.get(b)?.has(a);
}

/**
 * The longest path through the dependency graph, each step weighing its mean, with `serialized`
 * steps laid end to end (they ran one after another): the wall time the structure allows.
 */
export function criticalPathMs(
  shape: WorkflowShape,
  meanMs: ReadonlyMap<string, number>,
  serialized: readonly string[][] = [],
): number {
  const finish = new Map<string, number>();
  const byId = new Map(shape.steps.map((step) => [step.stepId, step]));
  const before = new Map<string, string[]>();
  for (const chain of serialized)
    chain.forEach((id, i) => i > 0 && before.set(id, [...(before.get(id) ?? []), chain[i - 1]!]));
  const visit = (id: string, trail: Set<string>): number => {
    const known = finish.get(id);
    if (known !== undefined) return known;
    const waits = [...(byId.get(id)?.dependencies ?? []), ...(before.get(id) ?? [])].filter((dep) => !trail.has(dep));
    const start = Math.max(0, ...waits.map((dep) => visit(dep, new Set([...trail, id]))));
    const end = start + (meanMs.get(id) ?? 0);
    finish.set(id, end);
    return end;
  };
  return Math.max(0, ...shape.steps.map((step) => visit(step.stepId, new Set())));
}

/** Steps ran one after another in most runs where both ran: their measured intervals did not overlap. */
function ranSerially(runs: readonly RunObservation[], a: string, b: string): boolean {
  const both = runs.filter((run) => run.steps[a] && run.steps[b]);
  if (!both.length) return false;
  const apart = both.filter((run) => {
    const x = run.steps[a]!;
    const y = run.steps[b]!;
    return x.finishedAt <= y.startedAt || y.finishedAt <= x.startedAt;
  });
  return apart.length * 2 > both.length;
}

const round1 = (value: number) => Math.round(value * 10) / 10;
const median = (values: readonly number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length ? sorted[Math.floor((sorted.length - 1) / 2)]! : 0;
};

/**
 * Parallelization: top-level steps that do not depend on each other, share their dependencies
 * (a parallel step's children have none of their own), and ran one after another, grouped
 * bottlenecks first, then by mean, at most three to a group. The expected improvement is the
 * critical path's shrinkage when the group runs side by side instead of end to end.
 */
export function parallelizationRecommendations(
  shape: WorkflowShape,
  figures: readonly StepFigures[],
  bottlenecks: readonly Bottleneck[],
  runs: readonly RunObservation[],
): OptimizationRecommendation[] {
  const meanMs = new Map(figures.map((step) => [step.stepId, step.meanMs]));
  const above = ancestors(shape);
  const byId = new Map(shape.steps.map((step) => [step.stepId, step]));
  const rank = new Map(bottlenecks.map((b, i) => [b.stepId, i]));
  const candidates = figures
    .filter((step) => byId.get(step.stepId)?.groupable)
    .sort((a, b) => (rank.get(a.stepId) ?? Infinity) - (rank.get(b.stepId) ?? Infinity) || b.meanMs - a.meanMs)
    .map((step) => step.stepId);
  const sameDependencies = (a: string, b: string) =>
    [...byId.get(a)!.dependencies].sort().join("\n") === [...byId.get(b)!.dependencies].sort().join("\n");

  const used = new Set<string>();
  const groups: string[][] = [];
  for (const seed of candidates) {
    if (used.has(seed)) continue;
    const group = [seed];
    for (const other of candidates) {
      if (group.length >= PARALLEL_GROUP_SIZE) break;
      if (used.has(other) || group.includes(other)) continue;
      const fits = group.every(
        (member) =>
          independent(above, member, other) && sameDependencies(member, other) && ranSerially(runs, member, other),
      );
      if (fits) group.push(other);
    }
    if (group.length < 2) continue;
    group.forEach((id) => used.add(id));
    const order = shape.steps.map((step) => step.stepId);
    groups.push(group.sort((a, b) => order.indexOf(a) - order.indexOf(b)));
  }

  const observedSerial = serialChains(runs, shape);
  const before = criticalPathMs(shape, meanMs, observedSerial);
  return groups.map((group) => {
    const remaining = observedSerial.map((chain) => chain.filter((id) => !group.includes(id)));
    const after = criticalPathMs(shape, meanMs, remaining);
    const improvement = before > 0 ? round1(((before - after) / before) * 100) : 0;
    const limit = shape.maxParallelSteps ?? PARALLEL_GROUP_SIZE;
    const changes: SpecificChange[] = [
      {
        action: "create_parallel_container",
        containerId: `parallel_${group.join("_")}`.slice(0, 100),
        steps: group,
        maxConcurrent: PARALLEL_GROUP_SIZE,
      },
      ...(limit < PARALLEL_GROUP_SIZE
        ? [{ action: "set_max_parallel_steps" as const, from: limit, to: PARALLEL_GROUP_SIZE }]
        : []),
    ];
    return {
      id: `parallelization:${shape.name}:${group.join("+")}`,
      type: "parallelization" as const,
      priority: RULE_PRIORITY.parallelization,
      description: `Run ${group.join(", ")} side by side: they do not depend on each other but ran one after another (critical path ${Math.round(before)} ms → ${Math.round(after)} ms)`,
      expectedImprovement: improvement,
      implementationEffort: "medium" as const,
      riskLevel: "low" as const,
      specificChanges: changes,
    };
  });
}

/** Steps in the order the median run started them, as chains of steps that ran end to end. */
function serialChains(runs: readonly RunObservation[], shape: WorkflowShape): string[][] {
  if (!runs.length) return [];
  const wall = median(runs.map((run) => run.wallMs));
  const typical = runs.find((run) => run.wallMs === wall) ?? runs[0]!;
  const ids = new Set(shape.steps.map((step) => step.stepId));
  const ordered = Object.entries(typical.steps)
    .filter(([id]) => ids.has(id))
    .sort(([, a], [, b]) => a.startedAt - b.startedAt);
  const chains: string[][] = [];
  for (const [id, timing] of ordered) {
    // A step that started after another one finished, with nothing running in between, continues that chain.
    const chain = chains.find((c) => typical.steps[c[c.length - 1]!]!.finishedAt <= timing.startedAt);
    if (chain) chain.push(id);
    else chains.push([id]);
  }
  return chains.filter((chain) => chain.length > 1);
}

/**
 * Caching: a step whose inputs repeat across runs, and that gave the same output every time it
 * was given the same input, gains from LangGraph's node cachePolicy. The saving is its share of
 * the wall time times the share of runs that repeated an earlier input.
 */
export function cachingRecommendations(
  shape: WorkflowShape,
  figures: readonly StepFigures[],
  runs: readonly RunObservation[],
): OptimizationRecommendation[] {
  const wall = runs.length ? runs.reduce((sum, run) => sum + run.wallMs, 0) / runs.length : 0;
  const out: OptimizationRecommendation[] = [];
  for (const step of figures) {
    const seen = new Map<string, string | undefined>();
    let repeats = 0;
    let deterministic = true;
    for (const run of runs) {
      const timing = run.steps[step.stepId];
      if (timing?.inputKey === undefined) continue;
      if (seen.has(timing.inputKey)) {
        repeats += 1;
        if (seen.get(timing.inputKey) !== timing.outputKey) deterministic = false;
      } else seen.set(timing.inputKey, timing.outputKey);
    }
    if (repeats === 0 || !deterministic || !shape.steps.some((s) => s.stepId === step.stepId)) continue;
    const share = repeats / Math.max(1, step.count);
    const improvement = wall > 0 ? round1(((step.meanMs * share) / wall) * 100) : 0;
    if (improvement < 1) continue;
    out.push({
      id: `caching:${shape.name}:${step.stepId}`,
      type: "caching",
      priority: RULE_PRIORITY.caching,
      description: `Cache ${step.stepId}: ${repeats} of its ${step.count} runs repeated an earlier input and gave the same output (LangGraph cachePolicy on its node)`,
      expectedImprovement: improvement,
      implementationEffort: "low",
      riskLevel: "medium",
      specificChanges: [{ action: "set_cache_policy", step: step.stepId, ttlSeconds: 3600, repeatedInputs: repeats }],
    });
  }
  return out;
}

/** Seconds a step's timeout should allow: twice its p95, at least a second. */
export const suggestedTimeoutSeconds = (p95Ms: number) => Math.max(1, Math.ceil((2 * p95Ms) / 1000));

/**
 * Resource: a step that timed out, or whose p95 comes within 80 % of its timeout, gets twice its
 * p95; a workflow whose concurrency limit held back steps that were ready is covered by the
 * parallelization rule, which raises the limit with the group it forms.
 */
export function resourceRecommendations(
  shape: WorkflowShape,
  figures: readonly StepFigures[],
): OptimizationRecommendation[] {
  const byId = new Map(shape.steps.map((step) => [step.stepId, step]));
  const out: OptimizationRecommendation[] = [];
  for (const step of figures) {
    const timeout = byId.get(step.stepId)?.timeoutSeconds;
    if (timeout === undefined || step.count === 0) continue;
    if (step.timeouts === 0 && step.p95Ms < 0.8 * timeout * 1000) continue;
    const to = Math.max(timeout + 1, suggestedTimeoutSeconds(step.p95Ms));
    out.push({
      id: `resource:${shape.name}:${step.stepId}:timeout`,
      type: "resource",
      priority: RULE_PRIORITY.resource,
      description: `Give ${step.stepId} ${to} s: its p95 is ${Math.round(step.p95Ms)} ms against a ${timeout} s timeout${step.timeouts ? `, and it timed out ${step.timeouts} times` : ""}`,
      // Runs that timed out failed: each one saved is a run that completes instead.
      expectedImprovement: 0,
      implementationEffort: "low",
      riskLevel: "low",
      specificChanges: [
        {
          action: "set_timeout",
          step: step.stepId,
          fromSeconds: timeout,
          toSeconds: to,
          p95Ms: Math.round(step.p95Ms),
          timeouts: step.timeouts,
        },
      ],
    });
  }
  return out;
}

export interface OptimizationReport {
  workflow: string;
  runs: number;
  bottlenecks: Bottleneck[];
  recommendations: OptimizationRecommendation[];
}

/** Bottlenecks and every rule's recommendations, by rule priority then expected improvement. */
export function optimize(
  shape: WorkflowShape,
  figures: readonly StepFigures[],
  runs: readonly RunObservation[],
): OptimizationReport {
  const bottlenecks = identifyBottlenecks(figures);
  const recommendations = [
    ...parallelizationRecommendations(shape, figures, bottlenecks, runs),
    ...cachingRecommendations(shape, figures, runs),
    ...resourceRecommendations(shape, figures),
  ].sort((a, b) => b.priority - a.priority || b.expectedImprovement - a.expectedImprovement);
  return { workflow: shape.name, runs: runs.length, bottlenecks, recommendations };
}

/** Caching changes no definition can take yet: they are reported, not written by --apply. */
export function isApplicable(recommendation: OptimizationRecommendation): boolean {
  return recommendation.specificChanges.every((change) => change.action !== "set_cache_policy");
}

/** A leaf that differs between two versions of a definition, by its path ("steps.fetch.timeoutSeconds"). */
export interface DefinitionChange {
  path: string;
  from?: unknown;
  to?: unknown;
}
