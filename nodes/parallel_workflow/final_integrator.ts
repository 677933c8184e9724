import type { LangGraphRunnableConfig } from "@langchain/langgraph";
import { settingsOf, type WorkflowStateType, type WorkflowUpdate } from "../../state/parallel_workflow/workflow.js";
import { emitPhase } from "../../state/parallel_workflow/progress.js";
import { integrateFinalReport, renderFinalReport, type ReportInput } from "../shared/report.js";

function reportInput(state: WorkflowStateType): ReportInput {
  return {
    integrationResult: state.integrationResult!,
    qualityReport: state.qualityReport,
    taskQueue: state.taskQueue,
    settings: settingsOf(state),
    mode: String(state.workflowMode),
    results: state.completedBranches,
    branches: Object.keys(state.activeBranches).length,
    revisionCount: state.revisionCount,
    retries: Object.values(state.retryCounts).reduce((a, b) => a + b, 0),
  };
}

/** The final report (nodes/shared/report.ts) of this workflow's thread. */
export function renderReport(state: WorkflowStateType): string {
  return renderFinalReport(reportInput(state));
}

export async function finalIntegrator(
  state: WorkflowStateType,
  config: LangGraphRunnableConfig,
): Promise<WorkflowUpdate> {
  emitPhase(config, "final_integrator");
  return integrateFinalReport({
    ...reportInput(state),
    startedAt: state.monitoringMetrics.startedAt as string | undefined,
    modelCalls: Object.values(state.completedBranches).reduce((sum, r) => sum + r.modelCalls, 0),
  });
}
