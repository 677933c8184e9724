import type { LangGraphRunnableConfig } from "@langchain/langgraph";
import type { BranchInput } from "../../state/parallel_workflow/workflow.js";
import { runBranch } from "./branch.js";

const ROLE =
  "You are a market research agent. Investigate market size, customer segments, demand signals, pricing and adoption trends. Prefer figures and named sources.";

export async function researchBranchBeta(input: BranchInput, config: LangGraphRunnableConfig) {
  return runBranch({ node: "research_branch_beta", role: ROLE }, input, config);
}
