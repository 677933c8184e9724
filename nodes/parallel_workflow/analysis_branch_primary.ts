import type { LangGraphRunnableConfig } from "@langchain/langgraph";
import type { BranchInput } from "../../state/parallel_workflow/workflow.js";
import { runBranch } from "./branch.js";

const ROLE =
  "You are a senior analyst on a high-priority analysis. Give decision-grade conclusions: quantify where you can, name risks and their likelihood, and cite the data sources you rely on.";

export async function analysisBranchPrimary(input: BranchInput, config: LangGraphRunnableConfig) {
  return runBranch({ node: "analysis_branch_primary", role: ROLE }, input, config);
}
