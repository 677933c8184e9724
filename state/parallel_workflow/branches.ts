import type { AnalysisPriority, ResearchFocus } from "./outputs.js";

interface BranchRowBase {
  node: string;
  /** The system prompt's role: what makes this node's answers differ from the others'. */
  role: string;
  /** Where load_balancer moves this node's work when a retry reassigns it. */
  alternate: string;
  /** Takes the branches of its type that no other row matches. */
  fallback?: true;
}
type BranchRow =
  | (BranchRowBase & { type: "research"; focus: ResearchFocus })
  | (BranchRowBase & { type: "analysis"; priority: AnalysisPriority });

/**
 * The research workflow's branch nodes, one row each. The graph adds a node and its edge
 * to sync_point_manager per row, parallel_coordinator sends each branch to the row its
 * type and focus (or priority) match, and a reassigning retry moves it to the row's
 * alternate: a new branch type is a new row.
 */
export const BRANCHES = [
  {
    node: "research_branch_alpha",
    type: "research",
    focus: "technical",
    role: "You are a technical research agent. Investigate technical feasibility, architecture, implementation risks and the engineering effort involved. Prefer verifiable technical facts.",
    alternate: "research_branch_beta",
  },
  {
    node: "research_branch_beta",
    type: "research",
    focus: "market",
    role: "You are a market research agent. Investigate market size, customer segments, demand signals, pricing and adoption trends. Prefer figures and named sources.",
    alternate: "research_branch_gamma",
  },
  {
    node: "research_branch_gamma",
    type: "research",
    focus: "competitive",
    role: "You are a competitive research agent. Investigate competitors, alternatives, differentiation and positioning. Compare concretely.",
    alternate: "research_branch_alpha",
    fallback: true,
  },
  {
    node: "analysis_branch_primary",
    type: "analysis",
    priority: "high",
    role: "You are a senior analyst on a high-priority analysis. Give decision-grade conclusions: quantify where you can, name risks and their likelihood, and cite the data sources you rely on.",
    alternate: "analysis_branch_secondary",
  },
  {
    node: "analysis_branch_secondary",
    type: "analysis",
    priority: "normal",
    role: "You are an analyst on a supporting analysis. Give context and secondary indicators that round out the picture, citing the data sources you rely on.",
    alternate: "analysis_branch_primary",
    fallback: true,
  },
] as const satisfies readonly BranchRow[];

export type BranchNodeName = (typeof BRANCHES)[number]["node"];
export type BranchSpec = (typeof BRANCHES)[number];
export const BRANCH_NODES: readonly BranchNodeName[] = BRANCHES.map((b) => b.node);

/** The row a branch of this type and focus or priority goes to. */
export function branchRowFor(branch: {
  type: "research" | "analysis";
  focus?: ResearchFocus;
  priority: AnalysisPriority;
}): BranchSpec {
  const match = BRANCHES.find((row) =>
    row.type === "research"
      ? branch.type === "research" && row.focus === branch.focus
      : branch.type === "analysis" && row.priority === branch.priority,
  );
  const fallback = BRANCHES.find((row) => row.type === branch.type && "fallback" in row);
  return (match ?? fallback)!;
}

/** Where a reassigning retry moves a node's work. */
export function alternateOf(node: BranchNodeName): BranchNodeName {
  return BRANCHES.find((row) => row.node === node)!.alternate;
}
