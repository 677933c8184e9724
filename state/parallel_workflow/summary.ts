import type { WorkflowSummary } from "../shared/workflow_definition.js";
import type { WorkflowStateType } from "./workflow.js";

/** A research thread's standing: its status, the validator's score and the final report. */
export function summariseResearch(values: Partial<WorkflowStateType>): WorkflowSummary {
  return {
    status: values.status ?? "running",
    qualityScore: values.qualityReport?.score ?? null,
    report: values.finalReport ?? null,
    ...(values.failureReason ? { failureReason: values.failureReason } : {}),
  };
}
