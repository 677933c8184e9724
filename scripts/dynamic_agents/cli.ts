import { taskOf } from "./task.js";
import { sharedStepOptions, sourceOptions } from "../commands/shared.js";
import { reviewedRunStatus, reviewPointOf, type WorkflowCli } from "../workflow_cli.js";

/** The dynamic agents workflow's CLI: its threads pass the same shared review steps as research threads. */
export const dynamicAgentsCli: WorkflowCli = {
  listedChannels: ["status", "taskQueue"],
  listThread: ({ values, interrupts, pending }) => {
    const runStatus = reviewedRunStatus(values.status, interrupts.length > 0, pending);
    return {
      workflow: "dynamic_agents",
      status: runStatus,
      runStatus,
      task: taskOf(values.taskQueue),
      reviewPoint: reviewPointOf(interrupts),
    };
  },
  runOptions: () => [...sharedStepOptions(), ...sourceOptions()],
  commands: async () => (await import("./thread_commands.js")).dynamicAgentsCommands,
};
