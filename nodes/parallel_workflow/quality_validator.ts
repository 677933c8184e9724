import type { LangGraphRunnableConfig } from "@langchain/langgraph";
import {
  settingsOf,
  type ValidationRoute,
  type WorkflowStateType,
  type WorkflowUpdate,
} from "../../state/parallel_workflow/workflow.js";
import { emitPhase } from "../../state/parallel_workflow/progress.js";
import { validateQuality } from "../shared/validation.js";

export { judgeScore, qualityScore, routeQuality } from "../shared/validation.js";

/** The quality gate (nodes/shared/validation.ts) over the merged result; its route picks the next node. */
export async function qualityValidator(
  state: WorkflowStateType,
  config: LangGraphRunnableConfig,
): Promise<WorkflowUpdate> {
  emitPhase(config, "quality_validator");
  const integrationResult = state.integrationResult;
  if (!integrationResult) throw new Error("quality_validator: branch_merger wrote no integration result");
  const validation = await validateQuality(
    {
      integrationResult,
      mergePerformance: state.mergePerformance,
      taskQueue: state.taskQueue,
      revisionCount: state.revisionCount,
      reviewDecisions: state.reviewDecisions,
      settings: settingsOf(state),
    },
    config,
  );
  if ("rejected" in validation)
    return { ...validation.rejected, nextCoordinationAction: "rejected", status: "rejected" };
  return {
    ...validation,
    nextCoordinationAction: validation.qualityReport.route,
    ...(validation.qualityReport.route === "critical_failure" ? { status: "failed" as const } : {}),
  };
}

/** The route quality_validator decided: one of its path map's keys. */
export function routeQualityValidation(state: WorkflowStateType): ValidationRoute {
  if (state.status === "rejected") return "rejected";
  return state.qualityReport?.route ?? "critical_failure";
}
