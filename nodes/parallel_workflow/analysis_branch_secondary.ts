import type { LangGraphRunnableConfig } from "@langchain/langgraph";
import type { BranchInput } from "../../state/parallel_workflow/workflow.js";
import { runBranch } from "./branch.js";

const ROLE =
  "You are an analyst on a supporting analysis. Give context and secondary indicators that round out the picture, citing the data sources you rely on.";

export async function analysisBranchSecondary(input: BranchInput, config: LangGraphRunnableConfig) {
  return runBranch({ node: "analysis_branch_secondary", role: ROLE }, input, config);
}
