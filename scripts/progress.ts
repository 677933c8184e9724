import type { TimelineEvent } from "../state/parallel_workflow/workflow.js";

const num = (x: unknown, digits = 3) => (typeof x === "number" ? x.toFixed(digits) : "?");
const pct = (x: unknown) => (typeof x === "number" ? `${Math.round(x * 100)}%` : "?");

/** "1 branch", "3 branches". */
export const count = (n: number, noun: string) => `${n} ${noun}${n === 1 ? "" : noun.endsWith("ch") ? "es" : "s"}`;

/** The feedback a revision carries (the reviewer's words, else the judge's issues): why it runs. */
export const revisionReason = (e: Record<string, any>) => {
  const feedback = String(e.feedback ?? "");
  return feedback ? ` with the feedback "${feedback.length > 100 ? `${feedback.slice(0, 99)}…` : feedback}"` : "";
};

/** One plain line per timeline event: what happened, where, and the figure that matters. */
export function formatEvent(event: TimelineEvent): string {
  const e = event as Record<string, any>;
  switch (event.event) {
    case "task_analysis_completed":
      return `task_analyzer         ${e.workflowMode} mode: ${count(e.branchesPlanned, "branch")} planned, ${e.branchesAllocated} at a time (complexity ${num(e.complexityScore, 2)}, interdependency ${num(e.interdependencyScore, 2)}, cpu headroom ${num(e.cpuHeadroom, 2)})`;
    case "wave_dispatched":
      return `parallel_coordinator  wave ${e.wave}: ${(e.branches as any[]).map((b) => `${b.branchId} → ${b.node}${b.attempt > 1 ? ` (attempt ${b.attempt})` : ""}`).join(", ")}`;
    case "branch_completed":
      return `  ✓ ${e.node.padEnd(26)}${e.branchId} in ${num(e.seconds, 2)}s, quality ${num(e.dataQualityScore)}`;
    case "branch_failed":
      return `  ✗ ${e.node.padEnd(26)}${e.branchId} failed after ${num(e.seconds, 2)}s: ${e.error}`;
    case "synchronization_checkpoint":
      return `sync_point_manager    ${pct(e.progress)} of branches succeeded → ${e.action}`;
    case "review_decision":
      return `${e.node.padEnd(22)}review: ${e.action} by ${e.reviewer}${e.feedback ? `: "${e.feedback}"` : ""}`;
    case "state_edited":
      return `${e.node.padEnd(22)}review: ${e.reviewer} edited ${(e.fields as string[]).join(", ") || "nothing"}`;
    case "branch_requeued":
      return `load_balancer         ${e.branchId}: ${e.strategy} (retry ${e.retry}, backoff ${e.backoffMs} ms) → ${e.toNode}`;
    case "revision_requested":
      return `load_balancer         revision ${e.revision}: re-queues ${(e.branches as string[]).join(", ")}${revisionReason(e)}`;
    case "intelligent_merge_completed":
      return `branch_merger         merged ${count(e.successfulBranches, "branch")}, quality ${num(e.overallQuality)}${(e.missingBranches as string[]).length ? `; missing ${(e.missingBranches as string[]).join(", ")}` : ""}`;
    case "quality_validated":
      return `quality_validator     score ${num(e.score)} → ${e.route} (${e.reason})`;
    case "workflow_completed":
      return `final_integrator      report written, quality ${num(e.qualityScore)}`;
    default:
      return `${event.node.padEnd(22)}${event.event}`;
  }
}
