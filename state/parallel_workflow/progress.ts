import type { LangGraphRunnableConfig } from "@langchain/langgraph";
import type { BranchNodeName } from "./workflow.js";

/**
 * Live progress, as the nodes emit it to LangGraph's `custom` stream mode. The server
 * forwards these to SDK clients and Studio; a run streamed without `custom` drops them.
 */
export const PHASES = ["analysis", "fan-out", "sync", "merge", "validation", "integration"] as const;
export type Phase = (typeof PHASES)[number];

/** The phase each node works in: the load balancer re-queues work for the next fan-out. */
export const PHASE_OF_NODE = {
  task_analyzer: "analysis",
  parallel_coordinator: "fan-out",
  load_balancer: "fan-out",
  sync_point_manager: "sync",
  branch_merger: "merge",
  quality_validator: "validation",
  final_integrator: "integration",
} as const satisfies Record<string, Phase>;
export type PhaseNode = keyof typeof PHASE_OF_NODE;

export type ProgressEvent =
  | { type: "phase_started"; phase: Phase; node: PhaseNode; at: string }
  | { type: "branch_started"; branchId: string; node: BranchNodeName; attempt: number; at: string }
  | {
      type: "branch_finished";
      branchId: string;
      node: BranchNodeName;
      attempt: number;
      status: "success" | "failed";
      /** Seconds the branch took. */
      seconds: number;
      /** The branch's data quality, 0..1; 0 for a failed branch. */
      quality: number;
      error?: string;
      at: string;
    };

/** The part of a node's config progress needs: LangGraph's writer, when the run streams. */
export type ProgressConfig = Pick<LangGraphRunnableConfig, "writer">;

/**
 * Sends one progress event to the run's `custom` stream. A node called outside a graph
 * run (the unit tests) has no writer: progress is then nobody's business.
 */
export function emitProgress(config: ProgressConfig, event: ProgressEvent): void {
  config.writer?.(event);
}

export function emitPhase(config: ProgressConfig, node: PhaseNode): void {
  emitProgress(config, { type: "phase_started", phase: PHASE_OF_NODE[node], node, at: new Date().toISOString() });
}
