import { START, StateGraph, type BaseCheckpointSaver } from "@langchain/langgraph";
import { approvalWorker, pauseGate } from "../nodes/enterprise_workflow/approval.js";
import { ORCHESTRATOR_ENDS, createOrchestrator } from "../nodes/enterprise_workflow/orchestrator.js";
import { defaultEngineServices, type EngineServices } from "../nodes/enterprise_workflow/services.js";
import { WORKER_NODES } from "../nodes/enterprise_workflow/tasks.js";
import { createWorkers } from "../nodes/enterprise_workflow/workers.js";
import { z } from "zod";
import { EnterpriseInputSchema, EnterpriseWorkflowState } from "../state/enterprise_workflow/state.js";
import { checkEnterpriseRequest, summariseEnterprise } from "../state/enterprise_workflow/summary.js";
import type { WorkflowDefinition } from "../state/shared/workflow_definition.js";
import { keepRecursionLimitWhenServed } from "./shared/langgraph_api_compat.js";

/**
 * The engine: one orchestrator node interprets any definition, Sending each unit of work to the
 * worker node for its kind; every worker reports back to the orchestrator. The graph is the same
 * for every definition, so a thread resumes in any process that has the engine, whatever it ran.
 * A paused run waits in `pause_gate` until resumed.
 */
export function createEngineBuilder(services: EngineServices) {
  const workers = createWorkers(services);
  const builder = new StateGraph(EnterpriseWorkflowState, { input: EnterpriseInputSchema })
    .addNode("orchestrator", createOrchestrator(services), { ends: ORCHESTRATOR_ENDS })
    .addNode("llm_worker", workers.llm_worker)
    .addNode("set_worker", workers.set_worker)
    .addNode("react_worker", workers.react_worker)
    .addNode("split_worker", workers.split_worker)
    .addNode("webhook_worker", workers.webhook_worker)
    .addNode("recovery_worker", workers.recovery_worker)
    .addNode("approval_worker", approvalWorker)
    .addNode("pause_gate", pauseGate)
    .addEdge(START, "orchestrator")
    .addEdge("pause_gate", "orchestrator");
  for (const worker of WORKER_NODES) builder.addEdge(worker, "orchestrator");
  return builder;
}

export const builder = createEngineBuilder(defaultEngineServices());

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

/** Services default to the controls in DATABASE_URL's database; pass them to share a store the caller opened. */
export function compileEnterpriseWorkflow(checkpointer: BaseCheckpointSaver, services: EngineServices = defaultEngineServices()) {
  return createEngineBuilder(services).compile({ checkpointer, name: "enterprise_workflow" }).withConfig(RUN_DEFAULTS);
}

/** For langgraph.json: the server brings its own checkpointer. Input: {definition, input}, the definition given or named. */
export const graph = keepRecursionLimitWhenServed(builder.compile({ name: "enterprise_workflow" }).withConfig(RUN_DEFAULTS), ENGINE_RECURSION_LIMIT);

/** The enterprise engine, as the registry, the CLI, the server and the bench see it. */
export const enterpriseWorkflow: WorkflowDefinition<ReturnType<typeof compileEnterpriseWorkflow>> = {
  name: "enterprise_workflow",
  compile: (checkpointer) => compileEnterpriseWorkflow(checkpointer),
  serve: (checkpointer) => compileEnterpriseWorkflow(checkpointer),
  inputSchema: EnterpriseInputSchema,
  configurationSchema: z.object({}),
  reviewPoints: ["approval_worker"],
  offlineSkills: {},
  checkRequest: checkEnterpriseRequest,
  summarise: summariseEnterprise,
};
