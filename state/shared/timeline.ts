import type { QualityRoute, SyncAction, SynchronizationStatus } from "./merge.js";
import type { ReviewDecision, ReviewPoint } from "./review.js";

export type { SyncAction } from "./merge.js";

/**
 * The timeline events the shared steps (sync, merge, validation, report) write; each workflow's
 * own timeline union includes them beside its own events.
 */
export type SharedStepEvent =
  | {
      at: string;
      event: "synchronization_checkpoint";
      node: "sync_point_manager";
      syncPoint: string;
      progress: number;
      status: SynchronizationStatus["status"];
      action: SyncAction;
    }
  | ({ event: "review_decision"; node: ReviewPoint } & ReviewDecision)
  | {
      at: string;
      event: "intelligent_merge_completed";
      node: "branch_merger";
      successfulBranches: number;
      failedBranches: number;
      missingBranches: string[];
      overallQuality: number;
    }
  | {
      at: string;
      event: "quality_validated";
      node: "quality_validator";
      score: number;
      route: QualityRoute;
      reason: string;
    }
  | { at: string; event: "workflow_completed"; node: "final_integrator"; qualityScore?: number; reportChars: number };

export type SharedStepEventOf<K extends SharedStepEvent["event"]> = Extract<SharedStepEvent, { event: K }>;
