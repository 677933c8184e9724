import { BRANCHES } from "../../state/parallel_workflow/branches.js";
import { numberOption, sharedStepOptions, sourceOptions } from "../commands/shared.js";
import { reviewedRunStatus, reviewPointOf, type WorkflowCli } from "../workflow_cli.js";

const BRANCH_TYPE = new Map<string, string>(BRANCHES.map((row) => [row.node, row.type]));

/** "sync_point_manager", "3 research branches": a wave's branch tasks counted, so a history row fits. */
export function historyNodes(names: readonly string[]): string[] {
  const branches = names.filter((name) => BRANCH_TYPE.has(name));
  const others = [...new Set(names.filter((name) => !BRANCH_TYPE.has(name)))];
  if (branches.length <= 1) return [...others, ...branches];
  const types = new Set(branches.map((name) => BRANCH_TYPE.get(name)));
  return [...others, `${branches.length} ${types.size === 1 ? `${[...types][0]} ` : ""}branches`];
}

/** The research workflow's CLI: listing reads the head's channels as the runner's outcome reads the state. */
export const parallelWorkflowCli: WorkflowCli = {
  listedChannels: ["status", "task", "taskQueue"],
  listThread: ({ values, interrupts, pending }) => {
    const runStatus = reviewedRunStatus(values.status, interrupts.length > 0, pending);
    return {
      workflow: "parallel_workflow",
      status: runStatus,
      runStatus,
      task: taskOf(values),
      reviewPoint: reviewPointOf(interrupts),
    };
  },
  historyNodes,
  runOptions: () => [
    ...sharedStepOptions(),
    numberOption("--max-retries <n>", "retries per failed branch (2)"),
    numberOption("--max-revisions <n>", "revision rounds (2)"),
    ...sourceOptions(),
  ],
  commands: async () => (await import("./thread_commands.js")).parallelWorkflowCommands,
};

/** The task as the research state holds it: its text, else its queue's descriptions. */
function taskOf(values: Record<string, unknown>): string {
  if (typeof values.task === "string") return values.task;
  const queue = Array.isArray(values.taskQueue) ? values.taskQueue : [];
  return queue
    .map((task: unknown) =>
      task !== null && typeof task === "object" && "description" in task ? String(task.description) : "",
    )
    .join("; ");
}
