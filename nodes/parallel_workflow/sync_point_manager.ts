import type { LangGraphRunnableConfig } from "@langchain/langgraph";
import {
  currentResult,
  settingsOf,
  type CoordinationAction,
  type SyncRoute,
  type SynchronizationStatus,
  type WorkflowStateType,
  type WorkflowUpdate,
} from "../../state/parallel_workflow/workflow.js";
import { decideSyncAction, synchronise } from "../shared/synchronisation.js";
import { pendingBranches } from "./parallel_coordinator.js";
import { emitPhase } from "../../state/parallel_workflow/progress.js";

export { CONDITIONAL_PROCEED_AT } from "../shared/synchronisation.js";

type SyncState = Pick<WorkflowStateType, "activeBranches" | "completedBranches" | "syncPoints" | "retryCounts">;

/** The shared sync rule's input, read from the research workflow's state. */
function syncInput(state: SyncState, syncPoint: string, maxRetries: number) {
  const required = state.syncPoints[syncPoint] ?? [];
  return {
    syncPoint,
    required,
    results: Object.fromEntries(required.map((id) => [id, currentResult(state, id)])),
    pending: pendingBranches(state).map((a) => a.branchId),
    retryCounts: state.retryCounts,
    maxRetries,
  };
}

/**
 * The sync rule (nodes/shared/synchronisation.ts) over this workflow's state: why
 * continue_waiting goes back to parallel_coordinator is in docs/design.md (Sync).
 */
export function decideSync(
  state: SyncState,
  syncPoint: string,
  maxRetries: number,
): { action: CoordinationAction; status: SynchronizationStatus } {
  return decideSyncAction(syncInput(state, syncPoint, maxRetries));
}

export async function syncPointManager(
  state: WorkflowStateType,
  config: LangGraphRunnableConfig,
): Promise<WorkflowUpdate> {
  emitPhase(config, "sync_point_manager");
  const settings = settingsOf(state);
  const syncPoint = Object.keys(state.syncPoints)[0];
  if (!syncPoint) throw new Error("sync_point_manager: task_analyzer wrote no sync point");
  const { rejection, reviewDecisions, ...sync } = synchronise({
    ...syncInput(state, syncPoint, settings.maxRetries),
    review: settings.review,
    revision: state.revisionCount,
  });
  return { ...sync, ...(reviewDecisions ? { reviewDecisions } : {}), ...rejection };
}

const SYNC_ROUTES: readonly CoordinationAction[] = [
  "proceed_to_merge",
  "conditional_proceed",
  "continue_waiting",
  "timeout_recovery",
  "recovery_exhausted",
  "rejected",
] satisfies SyncRoute[];
const isSyncRoute = (action: CoordinationAction): action is SyncRoute => SYNC_ROUTES.includes(action);

/** The route sync_point_manager decided: one of its path map's keys. */
export function routeAfterSynchronization(state: WorkflowStateType): SyncRoute {
  const action = state.nextCoordinationAction;
  return action && isSyncRoute(action) ? action : "continue_waiting";
}
