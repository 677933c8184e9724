import { type LoadedDefinition, loadWorkflow, type WorkflowName } from "../graphs/registry.js";

export type { WorkflowName };

/**
 * The one place bench/ reaches graphs/registry.ts: a workflow's bench compiles the workflow
 * through its registered definition, as the CLI and the server do.
 */
export function registeredWorkflow<N extends WorkflowName>(name: N): Promise<LoadedDefinition<N>> {
  return loadWorkflow(name);
}

/** What every workflow's bench is given by `npm run bench`. */
export interface BenchSettings {
  /** Timed runs per figure, when the command line sets it; else the bench's own default. */
  repeats?: number;
  /** Simulated model latency, ms, when the command line sets it. */
  latencyMs?: number;
  /** Fewer sizes and repeats: seconds, not figures to quote. */
  quick: boolean;
  progress?: (message: string) => void;
}

/** A workflow's figures: what latest.json keeps of them, and their tables for the printed output. */
export interface BenchSection {
  figures: object;
  markdown: string;
}

/** One workflow's bench: bench/<workflow>/ measures and renders it; bench/run.ts runs each. */
export interface WorkflowBench {
  workflow: WorkflowName;
  /** The heading of its section in the printed output. */
  title: string;
  run(settings: BenchSettings): Promise<BenchSection>;
}

/** A registered workflow as its definition compiles it. */
export type CompiledWorkflow<N extends WorkflowName> = ReturnType<LoadedDefinition<N>["compile"]>;
