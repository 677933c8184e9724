import type { StreamEvent } from "@langchain/core/tracers/log_stream";
import type { RunnableConfig } from "@langchain/core/runnables";
import type { Graph } from "@langchain/core/runnables/graph";
import type { BaseChannel, BaseCheckpointSaver, Pregel, PregelNode, StateSnapshot } from "@langchain/langgraph";
import type pg from "pg";
import type { z } from "zod";

/** What the CLI and the server call on a compiled workflow; every workflow's compiled graph has it. */
export interface ServableGraph {
  stream(input: unknown, options: Record<string, unknown>): Promise<AsyncIterable<unknown>>;
  streamEvents(input: unknown, options: Record<string, unknown> & { version: "v2" }): AsyncIterable<StreamEvent>;
  getState(config: RunnableConfig, options?: { subgraphs?: boolean }): Promise<StateSnapshot>;
  getStateHistory(
    config: RunnableConfig,
    options?: { limit?: number; before?: RunnableConfig; filter?: Record<string, unknown> },
  ): AsyncIterableIterator<StateSnapshot>;
  updateState(config: RunnableConfig, values: unknown, asNode?: string): Promise<RunnableConfig>;
  getGraphAsync(config?: RunnableConfig & { xray?: boolean | number }): Promise<Graph>;
  getSubgraphsAsync(namespace?: string, recurse?: boolean): AsyncIterable<[string, unknown]>;
  readonly nodes: Record<string, unknown>;
}

/** Where a thread of any workflow stands, as `threads`, `show`, `report` and the live view print it. */
export interface WorkflowSummary {
  /** The workflow's own status word (running, completed, FAILED …). */
  status: string;
  /** 0..1 where the workflow scores its result, else null. */
  qualityScore: number | null;
  /** The final report in markdown, once there is one. */
  report: string | null;
  failureReason?: string;
}

/** A compiled graph as another graph embeds it: a node declares it so Studio draws it and getState shows its state. */
export type ChildGraph = Pregel<Record<string, PregelNode>, Record<string, BaseChannel>>;

export type RunRequestConfig = { configurable?: Record<string, unknown>; context?: unknown };

/** A workflow's own tables in the checkpoints' schema, from checkpoints/<workflow>/. */
export interface WorkflowStorage {
  /** Table names by what they serve: `orchestra db` prints one line per group, in this order. */
  tables: Record<string, readonly string[]>;
  /** Creates or completes them; safe to repeat. */
  migrate(pool: pg.Pool, schema: string): Promise<void>;
}

/**
 * One workflow, as everything outside its own folders sees it once loaded: the registry's entry
 * loads it, and the CLI, the server and the bench run it through this.
 */
export interface WorkflowDefinition<Compiled extends ServableGraph = ServableGraph> {
  /** Its name in the registry. */
  name: string;
  /** For persistent runs from the CLI, the bench and the tests. */
  compile(checkpointer: BaseCheckpointSaver): Compiled;
  /**
   * The graph `orchestra serve` runs: the served graph's checks, given the server's checkpointer.
   * Absent for a workflow that server does not serve (langgraph.json's dev server still does).
   */
  serve?(checkpointer: BaseCheckpointSaver): ServableGraph;
  /**
   * Compiled without a checkpointer, to run as another workflow's child inside that workflow's
   * thread: it checkpoints there, under the calling node's namespace. Absent: the workflow runs
   * only as a thread of its own.
   */
  subgraph?(): ChildGraph;
  inputSchema: z.ZodType;
  configurationSchema: z.ZodType;
  /** The nodes that pause for a human decision; empty when the workflow never asks. */
  reviewPoints: readonly string[];
  /** Throws InputError, with the CLI's one-line message, for a run the workflow would refuse. */
  checkRequest(input: unknown, config: RunRequestConfig): void;
  /** A thread's standing read from its latest values. */
  summarise(values: Record<string, unknown>): WorkflowSummary;
}
