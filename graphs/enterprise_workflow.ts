import { recordingWorkflow } from "../checkpoints/recorded_workflow.js";
import { START, StateGraph, type BaseCheckpointSaver } from "@langchain/langgraph";
import { approvalWorker, pauseGate } from "../nodes/enterprise_workflow/approval.js";
import { eventWorker } from "../nodes/enterprise_workflow/event_wait.js";
import {
  ORCHESTRATOR_ENDS,
  createOrchestrator,
  pendingCompensations,
  type RecoveryItem,
} from "../nodes/enterprise_workflow/orchestrator.js";
import { defaultEngineServices, type EngineServices } from "../nodes/enterprise_workflow/services.js";
import { WORKER_NODES, childNode } from "../nodes/enterprise_workflow/tasks.js";
import { createChildNode, type ChildRunner, type ThreadGraph } from "../nodes/enterprise_workflow/children.js";
import { ENGINE_WORKFLOW, MAX_SUBWORKFLOW_DEPTH } from "../state/enterprise_workflow/definition.js";
import type { ChildCatalog } from "../state/enterprise_workflow/hierarchy.js";
import { loadNamedDefinition } from "../state/enterprise_workflow/loader.js";
import { createWorkers } from "../nodes/enterprise_workflow/workers.js";
import { z } from "zod";
import {
  EnterpriseInputSchema,
  EnterpriseWorkflowState,
  type EnterpriseState,
} from "../state/enterprise_workflow/state.js";
import { checkEnterpriseRequest, summariseEnterprise } from "../state/enterprise_workflow/summary.js";
import type { WorkflowDefinition } from "../state/shared/workflow_definition.js";
import { keepRecursionLimitWhenServed } from "./shared/langgraph_api_compat.js";

/**
 * Two super-steps per wave of work, and a loop runs one wave per iteration: LangGraph's default
 * limit of 25 would stop a ten-iteration loop.
 */
export const ENGINE_RECURSION_LIMIT = 100_000;

/**
 * "sync": each step's checkpoint is saved before the next starts, and each worker's outcome as it
 * finishes, so a process killed mid-wave loses only the work still running.
 */
const RUN_DEFAULTS = { recursionLimit: ENGINE_RECURSION_LIMIT, durability: "sync" } as const;

/** The workflows a subworkflow step may run besides the engine itself, and where their children are checkpointed. */
export interface EngineChildren {
  /** Registered workflows, loaded by the registry: the engine imports none of them. */
  workflows: readonly WorkflowDefinition[];
  /** Detached children run on threads of this checkpointer; without it, only inline children run. */
  checkpointer?: BaseCheckpointSaver;
}

/** What the load-time checks know of the children: the registered workflows' input schemas, and where named definitions load from. */
export function childCatalog(
  workflows: readonly WorkflowDefinition[],
  loadNamed: ChildCatalog["loadNamed"] = loadNamedDefinition,
): ChildCatalog {
  return {
    workflows: Object.fromEntries(
      workflows.filter((workflow) => workflow.subgraph).map((workflow) => [workflow.name, workflow.inputSchema]),
    ),
    loadNamed,
  };
}

function registeredRunners(children: EngineChildren): ChildRunner[] {
  return children.workflows.flatMap((workflow) => {
    const subgraph = workflow.subgraph?.();
    if (!subgraph) return [];
    let threadGraph: ThreadGraph | undefined;
    return [
      {
        workflow: workflow.name,
        subgraph,
        threadGraph: () =>
          (threadGraph ??= children.checkpointer
            ? (workflow.compile(children.checkpointer) as ThreadGraph)
            : undefined),
        checkRequest: workflow.checkRequest,
        summarise: workflow.summarise,
      },
    ];
  });
}

/**
 * The engine: one orchestrator node interprets any definition, Sending each unit of work to the
 * worker node for its kind; every worker reports back to the orchestrator. The graph is the same
 * for every definition, so a thread resumes in any process that has the engine, whatever it ran.
 * A paused run waits in `pause_gate` until resumed. Each registered workflow a step may run has a
 * node, `child_<workflow>`, declaring its graph as a subgraph (Studio draws it with xray, getState
 * with subgraphs shows it); the engine's own children nest one level deeper each, to the depth limit.
 */
export function createEngineBuilder(
  services: EngineServices,
  children: EngineChildren = { workflows: [] },
  depth = 1,
  runners = registeredRunners(children),
) {
  const workers = createWorkers(services);
  const catalog = childCatalog(children.workflows, services.namedDefinition);
  const engineRunner =
    depth < MAX_SUBWORKFLOW_DEPTH ? engineChildRunner(services, children, depth, runners) : undefined;
  const childRunners = engineRunner ? [...runners, engineRunner] : runners;
  const builder = new StateGraph(EnterpriseWorkflowState, { input: EnterpriseInputSchema })
    .addNode("orchestrator", createOrchestrator(services, catalog, depth), {
      ends: [...ORCHESTRATOR_ENDS, ...childRunners.map((runner) => childNode(runner.workflow))],
    })
    .addNode("llm_worker", workers.llm_worker)
    .addNode("set_worker", workers.set_worker)
    .addNode("react_worker", workers.react_worker)
    .addNode("split_worker", workers.split_worker)
    .addNode("webhook_worker", workers.webhook_worker)
    .addNode("recovery_worker", workers.recovery_worker)
    .addNode("approval_worker", approvalWorker)
    .addNode("event_worker", eventWorker)
    .addNode("pause_gate", pauseGate)
    .addEdge(START, "orchestrator")
    .addEdge("pause_gate", "orchestrator");
  for (const worker of WORKER_NODES) builder.addEdge(worker, "orchestrator");
  for (const runner of childRunners) {
    builder.addNode(childNode(runner.workflow), createChildNode(runner), { subgraphs: [runner.subgraph] });
    builder.addEdge(childNode(runner.workflow) as "orchestrator", "orchestrator");
  }
  return builder;
}

/** What a completed engine child would undo, its own children's first: every compensation its rollback would run. */
function engineChildCompensations(values: Record<string, unknown>): RecoveryItem[] {
  const state = values as EnterpriseState;
  return state.workflow
    ? pendingCompensations(state.workflow, state.completedSteps, state.recovery, [], state.intermediateResults)
    : [];
}

/** The engine as its own child, one level deeper: a named definition's run. */
function engineChildRunner(
  services: EngineServices,
  children: EngineChildren,
  depth: number,
  runners: ChildRunner[],
): ChildRunner {
  let threadGraph: ThreadGraph | undefined;
  return {
    workflow: ENGINE_WORKFLOW,
    subgraph: createEngineBuilder(services, children, depth + 1, runners)
      .compile({ name: ENGINE_WORKFLOW })
      .withConfig(RUN_DEFAULTS),
    threadGraph: () =>
      (threadGraph ??= children.checkpointer
        ? compileEnterpriseWorkflow(children.checkpointer, services, children.workflows)
        : undefined),
    checkRequest: checkEnterpriseRequest,
    summarise: summariseEnterprise,
    compensations: engineChildCompensations,
  };
}

export const builder = createEngineBuilder(defaultEngineServices());

/** Services default to the controls in DATABASE_URL's database; pass them to share a store the caller opened. */
export function compileEnterpriseWorkflow(
  checkpointer: BaseCheckpointSaver,
  services: EngineServices = defaultEngineServices(),
  workflows: readonly WorkflowDefinition[] = [],
) {
  return createEngineBuilder(services, { workflows, checkpointer })
    .compile({ checkpointer: recordingWorkflow(checkpointer, ENGINE_WORKFLOW), name: "enterprise_workflow" })
    .withConfig(RUN_DEFAULTS);
}

/** For langgraph.json: the server brings its own checkpointer. Input: {definition, input}, the definition given or named. */
export const graph = keepRecursionLimitWhenServed(
  builder.compile({ name: "enterprise_workflow" }).withConfig(RUN_DEFAULTS),
  ENGINE_RECURSION_LIMIT,
);

/**
 * The enterprise engine, as the registry, the CLI, the server and the bench see it, given the
 * other registered workflows (the registry loads them) that its subworkflow steps may run.
 */
export const enterpriseWorkflowWith = (
  workflows: readonly WorkflowDefinition[],
): WorkflowDefinition<ReturnType<typeof compileEnterpriseWorkflow>> => ({
  name: ENGINE_WORKFLOW,
  compile: (checkpointer) => compileEnterpriseWorkflow(checkpointer, defaultEngineServices(), workflows),
  serve: (checkpointer) => compileEnterpriseWorkflow(checkpointer, defaultEngineServices(), workflows),
  inputSchema: EnterpriseInputSchema,
  configurationSchema: z.object({}),
  reviewPoints: ["approval_worker"],
  checkRequest: checkEnterpriseRequest,
  summarise: summariseEnterprise,
});
