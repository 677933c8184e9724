import type { LangGraphRunnableConfig } from "@langchain/langgraph";
import type { BranchInput } from "../../state/parallel_workflow/workflow.js";
import { runBranch } from "./branch.js";

const ROLE =
  "You are a competitive research agent. Investigate competitors, alternatives, differentiation and positioning. Compare concretely.";

export async function researchBranchGamma(input: BranchInput, config: LangGraphRunnableConfig) {
  return runBranch({ node: "research_branch_gamma", role: ROLE }, input, config);
}
