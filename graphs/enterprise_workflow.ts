import { START, StateGraph, type BaseCheckpointSaver } from "@langchain/langgraph";
import { ORCHESTRATOR_ENDS, orchestrator } from "../nodes/enterprise/orchestrator.js";
import { llmWorker, reactWorker, setWorker, splitWorker } from "../nodes/enterprise/workers.js";
import { EnterpriseInputSchema, EnterpriseWorkflowState } from "../state/enterprise/state.js";

/**
 * The engine: one orchestrator node interprets any definition, Sending each unit of work to the
 * worker node for its kind; every worker reports back to the orchestrator. The graph is the same
 * for every definition, so a thread resumes in any process that has the engine, whatever it ran.
 */
export const builder = new StateGraph(EnterpriseWorkflowState, { input: EnterpriseInputSchema })
  .addNode("orchestrator", orchestrator, { ends: ORCHESTRATOR_ENDS })
  .addNode("llm_worker", llmWorker)
  .addNode("set_worker", setWorker)
  .addNode("react_worker", reactWorker)
  .addNode("split_worker", splitWorker)
  .addEdge(START, "orchestrator")
  .addEdge("llm_worker", "orchestrator")
  .addEdge("set_worker", "orchestrator")
  .addEdge("react_worker", "orchestrator")
  .addEdge("split_worker", "orchestrator");

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

export function compileEnterpriseWorkflow(checkpointer: BaseCheckpointSaver) {
  return builder.compile({ checkpointer, name: "enterprise_workflow" }).withConfig(RUN_DEFAULTS);
}

/** For langgraph.json: the server brings its own checkpointer. Input: {definition, input}, the definition given or named. */
export const graph = builder.compile({ name: "enterprise_workflow" }).withConfig(RUN_DEFAULTS);
