import type { BaseCheckpointSaver } from "@langchain/langgraph";
import type pg from "pg";
import { reachedNodes } from "../checkpoints/threads.js";
import { InputError } from "../state/shared/errors.js";
import type { ServableGraph, WorkflowDefinition, WorkflowEntry, WorkflowStorage } from "../state/shared/workflow_definition.js";
import { DEFAULT_WORKFLOW as DEFAULT_WORKFLOW_NAME } from "./default_workflow.js";
import { BRANCH_NODES } from "../state/parallel_workflow/branches.js";

/**
 * Every workflow the product serves, by name: the only list of them. A new workflow is its
 * folders plus one entry here; langgraph.json must list the same names (a test checks). An entry
 * holds what listing and telling threads apart need, and loads the workflow's graph modules only
 * when asked: `orchestra threads` and `--help` import none of them. `storage` loads the
 * workflow's own tables from checkpoints/<workflow>/ alone.
 */
export const WORKFLOWS = {
  parallel_workflow: {
    description: "Parallel multi-agent research: branches fan out, synchronise, merge and pass a quality gate",
    servedGraph: "./graphs/parallel_workflow.ts:graph",
    nodes: [
      "task_analyzer",
      "parallel_coordinator",
      // From the branch table, a module of plain data: a new branch type is one row there.
      ...BRANCH_NODES,
      "sync_point_manager",
      "load_balancer",
      "branch_merger",
      "quality_validator",
      "final_integrator",
    ],
    load: async () => (await import("./parallel_workflow.js")).parallelWorkflow,
  },
  dynamic_agents: {
    description: "Agents specified, selected and run at run time for each task, then coordinated",
    servedGraph: "./graphs/dynamic_agents.ts:graph",
    nodes: ["agent_generator", "dynamic_agent", "coordination", "sync_point_manager", "branch_merger", "quality_validator", "final_integrator"],
    load: async () => (await import("./dynamic_agents.js")).dynamicAgents,
    storage: async () => (await import("../checkpoints/dynamic_agents/storage.js")).dynamicAgentsStorage,
  },
  enterprise_workflow: {
    description: "The enterprise engine: runs a declarative workflow definition, given or named",
    servedGraph: "./graphs/enterprise_workflow.ts:graph",
    nodes: [
      "orchestrator",
      "llm_worker",
      "set_worker",
      "react_worker",
      "split_worker",
      "webhook_worker",
      "recovery_worker",
      "approval_worker",
      "event_worker",
      "pause_gate",
      "child_parallel_workflow",
      "child_dynamic_agents",
      "child_enterprise_workflow",
    ],
    // Its subworkflow steps run the other registered workflows: handed over here, the engine imports none.
    load: async (): Promise<WorkflowDefinition> => (await import("./enterprise_workflow.js")).enterpriseWorkflowWith(await otherWorkflows("enterprise_workflow")),
    storage: async () => (await import("../checkpoints/enterprise_workflow/storage.js")).enterpriseWorkflowStorage,
    variants: async () => (await import("../metrics/enterprise_workflow/variants.js")).enterpriseVariants,
    triggers: async () => (await import("../state/enterprise_workflow/triggers.js")).engineTriggers(),
  },
} as const satisfies Record<string, WorkflowEntry>;

export type WorkflowName = keyof typeof WORKFLOWS;

export const DEFAULT_WORKFLOW = DEFAULT_WORKFLOW_NAME satisfies WorkflowName;

export function workflowNames(): WorkflowName[] {
  return Object.keys(WORKFLOWS) as WorkflowName[];
}

const isWorkflowName = (name: string): name is WorkflowName => Object.hasOwn(WORKFLOWS, name);

/** A registered name; a name not in the registry is the user's mistake. */
export function workflowName(name: string): WorkflowName {
  if (!isWorkflowName(name)) throw new InputError(`unknown workflow '${name}': use one of ${workflowNames().join(", ")} ('orchestra workflows' lists them)`);
  return name;
}

/** The full definition of a workflow by name: its graph modules load here. */
export async function loadWorkflow(name: string): Promise<WorkflowDefinition> {
  const definition = await WORKFLOWS[workflowName(name)].load();
  if (definition.name !== name) throw new Error(`the registry's ${name} loads the definition of ${definition.name}`);
  return definition;
}

/**
 * A thread's workflow, told by the nodes its head checkpoint reached: workflows share node names
 * (the shared steps), so it is the first, in the registry's order, having every one of them. A
 * thread that reached none yet counts as the default workflow's.
 */
export function workflowOfReached(reached: readonly string[]): WorkflowName {
  const nodes = new Set(reached);
  const found = reached.length ? workflowNames().find((name) => [...nodes].every((node) => (WORKFLOWS[name].nodes as readonly string[]).includes(node))) : undefined;
  return found ?? DEFAULT_WORKFLOW;
}

/** The workflow of a saved thread; the default workflow's for an id with no checkpoint (its commands then say there is no such thread). */
export async function threadWorkflow(db: { pool: pg.Pool; schema: string }, threadId: string): Promise<WorkflowName> {
  return workflowOfReached((await reachedNodes(db.pool, db.schema, threadId)) ?? []);
}

/** Every registered workflow but one, loaded: the children a workflow may run. */
export async function otherWorkflows(name: string): Promise<WorkflowDefinition[]> {
  return Promise.all(Object.keys(WORKFLOWS).filter((other) => other !== name).map((other) => loadWorkflow(other)));
}

/** Every workflow's own tables, in the registry's order, loading no graph. */
export async function workflowStorages(): Promise<WorkflowStorage[]> {
  const entries: readonly WorkflowEntry[] = Object.values(WORKFLOWS);
  return Promise.all(entries.flatMap((entry) => (entry.storage ? [entry.storage()] : [])));
}

/** A workflow as `orchestra serve` serves it. */
export interface ServedGraph {
  graphId: WorkflowName;
  description: string;
  compile(checkpointer: BaseCheckpointSaver): ServableGraph;
  /** The workflow's input mapping (identity when it has none): applied before checkRequest. */
  mapInput(input: unknown): unknown;
  checkRequest: WorkflowDefinition["checkRequest"];
}

/** The workflows `orchestra serve` serves: those whose definition says how. */
export async function servedGraphs(): Promise<ServedGraph[]> {
  const served = await Promise.all(
    workflowNames().map(async (name): Promise<ServedGraph[]> => {
      const definition = await loadWorkflow(name);
      if (!definition.serve) return [];
      const { serve, checkRequest, mapInput = (input: unknown) => input } = definition;
      return [{ graphId: name, description: WORKFLOWS[name].description, compile: serve, mapInput, checkRequest }];
    }),
  );
  return served.flat();
}
