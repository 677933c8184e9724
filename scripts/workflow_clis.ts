import type { Checkpointer } from "../checkpoints/index.js";
import { manifestOf, threadWorkflow, type WorkflowName, workflowNames } from "../graphs/registry.js";
import type { WorkflowCli, WorkflowCommands } from "./workflow_cli.js";

/**
 * A registered workflow's CLI, from its manifest: the generic commands reach a workflow's folder
 * in scripts/ only through here (an import rule checks), and each CLI loads its thread commands,
 * and with them its graph, only when used.
 */
export const workflowCli = (name: WorkflowName): Promise<WorkflowCli> => manifestOf(name).cli();

/** Every registered workflow's CLI, by name, in the registry's order. */
export async function workflowClis(): Promise<Map<WorkflowName, WorkflowCli>> {
  return new Map(await Promise.all(workflowNames().map(async (name) => [name, await workflowCli(name)] as const)));
}

/** The thread commands of the workflow a saved thread belongs to. */
export async function threadCommands(
  db: Checkpointer,
  threadId: string,
): Promise<{ workflow: WorkflowName; commands: WorkflowCommands; cli: WorkflowCli }> {
  const workflow = await threadWorkflow(db, threadId);
  const cli = await workflowCli(workflow);
  return { workflow, cli, commands: await cli.commands() };
}
