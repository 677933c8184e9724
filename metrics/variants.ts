import type { DefinitionChange, OptimizationReport, RunObservation, StepFigures } from "./optimizer_analysis.js";
import type { MetricsDatabase, RunSample } from "./collector.js";

/**
 * A workflow that runs named variants (the engine's definitions) has them measured and optimized
 * each as a workflow of its own: its registry entry's `variants()` loads this hook.
 */

/** `orchestra optimize`'s answer: the report, and what --apply wrote. */
export interface OptimizeResult extends OptimizationReport {
  /** The definition version the figures were measured on; undefined for a graph (its structure is code). */
  version?: number;
  applied?: { version: number; changes: DefinitionChange[]; recommendations: string[] };
}

/** The changes between two versions of a variant's definition, one line each. */
export function formatDiff(changes: readonly DefinitionChange[]): string {
  if (!changes.length) return "  (no changes)";
  const show = (value: unknown) => JSON.stringify(value);
  return changes
    .map((c) =>
      c.from === undefined
        ? `  + ${c.path}: ${show(c.to)}`
        : c.to === undefined
          ? `  - ${c.path}: ${show(c.from)}`
          : `  ~ ${c.path}: ${show(c.from)} → ${show(c.to)}`,
    )
    .join("\n");
}

/** A workflow's named variants, as `metrics`, `optimize` and the server's metrics routes read them. */
export interface WorkflowVariants {
  /** The names a user may give (`metrics --workflow`, `optimize`), sorted. */
  names(): Promise<string[]>;
  /** Throws InputError, naming what is missing, when no variant is called `name`; reads no database. */
  check(name: string): Promise<void>;
  /** A thread's run of a variant, read from its saved values; undefined for a thread that ran none. */
  sample(values: Record<string, unknown>): RunSample | undefined;
  /** Recommendations for the variant's current version from its measured runs; with `apply`, writes the next version. */
  optimize(
    db: MetricsDatabase,
    name: string,
    measured: { figures: StepFigures[]; runs: RunObservation[] },
    apply: boolean,
  ): Promise<OptimizeResult>;
}
