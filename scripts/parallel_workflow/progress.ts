import type { TimelineEvent, TimelineEventOf } from "../../state/parallel_workflow/workflow.js";

const num = (x: number | undefined, digits = 3) => (x === undefined ? "?" : x.toFixed(digits));
const pct = (x: number) => `${Math.round(x * 100)}%`;

/** "1 branch", "3 branches". */
export const count = (n: number, noun: string) => `${n} ${noun}${n === 1 ? "" : noun.endsWith("ch") ? "es" : "s"}`;

/** The feedback a revision carries (the reviewer's words, else the judge's issues): why it runs. */
export const revisionReason = ({ feedback }: Pick<TimelineEventOf<"revision_requested">, "feedback">) => {
  return feedback ? ` with the feedback "${feedback.length > 100 ? `${feedback.slice(0, 99)}…` : feedback}"` : "";
};

/** One plain line per timeline event: what happened, where, and the figure that matters. */
export function formatEvent(e: TimelineEvent): string {
  switch (e.event) {
    case "task_analysis_completed":
      return `task_analyzer         ${e.workflowMode} mode: ${count(e.branchesPlanned, "branch")} planned, ${e.branchesAllocated} at a time (complexity ${num(e.complexityScore, 2)}, interdependency ${num(e.interdependencyScore, 2)}, cpu headroom ${num(e.cpuHeadroom, 2)})`;
    case "wave_dispatched":
      return `parallel_coordinator  wave ${e.wave}: ${e.branches.map((b) => `${b.branchId} → ${b.node}${b.attempt > 1 ? ` (attempt ${b.attempt})` : ""}`).join(", ")}`;
    case "branch_completed":
      return `  ✓ ${e.node.padEnd(26)}${e.branchId} in ${num(e.seconds, 2)}s, quality ${num(e.dataQualityScore)}`;
    case "branch_failed":
      return `  ✗ ${e.node.padEnd(26)}${e.branchId} failed after ${num(e.seconds, 2)}s: ${e.error}`;
    case "synchronization_checkpoint":
      return `sync_point_manager    ${pct(e.progress)} of branches succeeded → ${e.action}`;
    case "review_decision":
      return `${e.node.padEnd(22)}review: ${e.action} by ${e.reviewer}${e.feedback ? `: "${e.feedback}"` : ""}`;
    case "state_edited":
      return `${e.node.padEnd(22)}review: ${e.reviewer} edited ${e.fields.join(", ") || "nothing"}`;
    case "branch_requeued":
      return `load_balancer         ${e.branchId}: ${e.strategy} (retry ${e.retry}, backoff ${e.backoffMs} ms) → ${e.toNode}`;
    case "revision_requested":
      return `load_balancer         revision ${e.revision}: re-queues ${e.branches.join(", ")}${revisionReason(e)}`;
    case "intelligent_merge_completed":
      return `branch_merger         merged ${count(e.successfulBranches, "branch")}, quality ${num(e.overallQuality)}${e.missingBranches.length ? `; missing ${e.missingBranches.join(", ")}` : ""}`;
    case "quality_validated":
      return `quality_validator     score ${num(e.score)} → ${e.route} (${e.reason})`;
    case "workflow_completed":
      return `final_integrator      report written, quality ${num(e.qualityScore)}`;
    default:
      return unknownEvent(e);
  }
}

/**
 * The compiler checks every kind above is handled; a thread written by a newer version may
 * still hold a kind this one does not know, shown by node and name.
 */
function unknownEvent(e: never): string {
  const { node, event } = e as { node: string; event: string };
  return `${node.padEnd(22)}${event}`;
}
