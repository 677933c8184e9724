import type { Checkpointer } from "../checkpoints/index.js";
import { threadWorkflow, type WorkflowName } from "../graphs/registry.js";
import { dynamicAgentsCli } from "./dynamic_agents/cli.js";
import { enterpriseWorkflowCli } from "./enterprise_workflow/cli.js";
import { parallelWorkflowCli } from "./parallel_workflow/cli.js";
import type { WorkflowCli, WorkflowCommands } from "./workflow_cli.js";

/**
 * Every registered workflow's CLI, by the registry's name: the compiler asks for one per workflow.
 * The generic commands reach a workflow's folder in scripts/ only through here (an import rule
 * checks), and each CLI loads its thread commands, and with them its graph, only when used.
 */
export const WORKFLOW_CLIS = {
  parallel_workflow: parallelWorkflowCli,
  dynamic_agents: dynamicAgentsCli,
  enterprise_workflow: enterpriseWorkflowCli,
} as const satisfies Record<WorkflowName, WorkflowCli>;

/** The thread commands of the workflow a saved thread belongs to. */
export async function threadCommands(db: Checkpointer, threadId: string): Promise<{ workflow: WorkflowName; commands: WorkflowCommands; cli: WorkflowCli }> {
  const workflow = await threadWorkflow(db, threadId);
  const cli: WorkflowCli = WORKFLOW_CLIS[workflow];
  return { workflow, cli, commands: await cli.commands() };
}
