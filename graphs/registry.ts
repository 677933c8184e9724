import type { BaseCheckpointSaver } from "@langchain/langgraph";
import { InputError } from "../state/shared/errors.js";
import type { ServableGraph, WorkflowDefinition } from "../state/shared/workflow_definition.js";
import { DEFAULT_WORKFLOW as DEFAULT_WORKFLOW_NAME } from "./default_workflow.js";
import { dynamicAgents } from "./dynamic_agents.js";
import { enterpriseWorkflow } from "./enterprise_workflow.js";
import { parallelWorkflow } from "./parallel_workflow.js";

/**
 * Every workflow the product serves, by name: the only list of them. A new workflow is its
 * folders plus one line here; langgraph.json must list the same names (a test checks).
 */
export const WORKFLOWS = {
  parallel_workflow: parallelWorkflow,
  dynamic_agents: dynamicAgents,
  enterprise_workflow: enterpriseWorkflow,
} as const satisfies Record<string, WorkflowDefinition>;

export const DEFAULT_WORKFLOW = DEFAULT_WORKFLOW_NAME satisfies keyof typeof WORKFLOWS;

export function workflowNames(): string[] {
  return Object.keys(WORKFLOWS);
}

/** The definition of a workflow by name; a name not in the registry is the user's mistake. */
export function workflowDefinition(name: string): WorkflowDefinition {
  const definition = Object.values(WORKFLOWS).find((d: WorkflowDefinition) => d.name === name);
  if (!definition) throw new InputError(`unknown workflow '${name}': use one of ${workflowNames().join(", ")} ('orchestra workflows' lists them)`);
  return definition;
}

/** A workflow as `orchestra serve` serves it. */
export interface ServedGraph {
  graphId: string;
  description: string;
  compile(checkpointer: BaseCheckpointSaver): ServableGraph;
  checkRequest: WorkflowDefinition["checkRequest"];
}

/** The workflows `orchestra serve` serves: those whose definition says how. */
export function servedGraphs(): ServedGraph[] {
  return Object.values(WORKFLOWS).flatMap((definition: WorkflowDefinition) =>
    definition.serve
      ? [{ graphId: definition.name, description: definition.description, compile: definition.serve, checkRequest: definition.checkRequest }]
      : [],
  );
}
