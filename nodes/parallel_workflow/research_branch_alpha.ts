import type { LangGraphRunnableConfig } from "@langchain/langgraph";
import type { BranchInput } from "../../state/parallel_workflow/workflow.js";
import { runBranch } from "./branch.js";

const ROLE =
  "You are a technical research agent. Investigate technical feasibility, architecture, implementation risks and the engineering effort involved. Prefer verifiable technical facts.";

export async function researchBranchAlpha(input: BranchInput, config: LangGraphRunnableConfig) {
  return runBranch({ node: "research_branch_alpha", role: ROLE }, input, config);
}
