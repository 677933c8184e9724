import { BRANCH_NODES } from "../../state/parallel_workflow/branches.js";
import { reviewedRunStatus, reviewPointOf, type WorkflowCli } from "../workflow_cli.js";

/** The research workflow's CLI: listing reads the head's channels as the runner's outcome reads the state. */
export const parallelWorkflowCli: WorkflowCli = {
  listedChannels: ["status", "task", "taskQueue"],
  listThread: ({ values, interrupts, pending }) => {
    const runStatus = reviewedRunStatus(values.status, interrupts.length > 0, pending);
    return { workflow: "parallel_workflow", status: runStatus, runStatus, task: taskOf(values), reviewPoint: reviewPointOf(interrupts) };
  },
  branchNodes: BRANCH_NODES,
  commands: async () => (await import("./commands.js")).parallelWorkflowCommands,
};

/** The task as the research state holds it: its text, else its queue's descriptions. */
function taskOf(values: Record<string, unknown>): string {
  if (typeof values.task === "string") return values.task;
  const queue = Array.isArray(values.taskQueue) ? values.taskQueue : [];
  return queue.map((task: unknown) => (task !== null && typeof task === "object" && "description" in task ? String(task.description) : "")).join("; ");
}
