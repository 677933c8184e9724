import type { LangGraphRunnableConfig } from "@langchain/langgraph";
import {
  currentResult,
  settingsOf,
  type BranchResult,
  type WorkflowStateType,
  type WorkflowUpdate,
} from "../../state/parallel_workflow/workflow.js";
import { emitPhase } from "../../state/parallel_workflow/progress.js";
import { mergeBranches } from "../shared/merge.js";

export { attribute, branchWeight, overallQuality, weighResults, type WeightedResult } from "../shared/merge.js";

/** The quality-weighted merge (nodes/shared/merge.ts) of every planned branch's current result. */
export async function branchMerger(state: WorkflowStateType, config: LangGraphRunnableConfig): Promise<WorkflowUpdate> {
  emitPhase(config, "branch_merger");
  const branchIds = Object.keys(state.activeBranches);
  const results = branchIds.map((id) => currentResult(state, id)).filter((r): r is BranchResult => r !== undefined);
  return mergeBranches(branchIds, results, settingsOf(state), config);
}
