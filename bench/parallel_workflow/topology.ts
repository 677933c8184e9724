import { Annotation, Command, END, START, Send, StateGraph, type BaseCheckpointSaver } from "@langchain/langgraph";
import { BRANCH_NODES } from "../../state/parallel_workflow/workflow.js";
import { PARALLEL_COORDINATOR_ENDS } from "../../nodes/parallel_workflow/parallel_coordinator.js";

/**
 * The workflow's topology with no-op nodes: the same nodes, the same Send fan-out in
 * the same waves, the same loop back through sync_point_manager, on the same durability.
 * What it costs is what LangGraph and the checkpointer cost; the workflow's excess over
 * it is the cost of our own nodes and state.
 */
const BareState = Annotation.Root({
  branches: Annotation<number>({ reducer: (_, update) => update, default: () => 0 }),
  width: Annotation<number>({ reducer: (_, update) => update, default: () => 1 }),
  dispatched: Annotation<number>({ reducer: (_, update) => update, default: () => 0 }),
});
type Bare = typeof BareState.State;

const noop = async () => ({});

/** Durability "sync", like the workflow; `recursionLimit` is the workflow's own, read from its compiled config. */
export function compileBareTopology(checkpointer: BaseCheckpointSaver, recursionLimit: number | undefined) {
  const builder = new StateGraph(BareState)
    .addNode("task_analyzer", noop)
    .addNode(
      "parallel_coordinator",
      (state: Bare) => {
        const wave = Array.from(
          { length: Math.min(state.width, state.branches - state.dispatched) },
          (_, i) => state.dispatched + i,
        );
        return new Command({
          goto: wave.map((i) => new Send(BRANCH_NODES[i % BRANCH_NODES.length]!, { branchId: `b${i + 1}` })),
          update: { dispatched: state.dispatched + wave.length },
        });
      },
      { ends: PARALLEL_COORDINATOR_ENDS },
    )
    .addNode("sync_point_manager", noop)
    .addNode("load_balancer", noop)
    .addNode("branch_merger", noop)
    .addNode("quality_validator", noop)
    .addNode("final_integrator", noop)
    .addEdge(START, "task_analyzer")
    .addEdge("task_analyzer", "parallel_coordinator")
    .addConditionalEdges(
      "sync_point_manager",
      (state: Bare) => (state.dispatched < state.branches ? "continue" : "merge"),
      {
        continue: "parallel_coordinator",
        merge: "branch_merger",
        // Never taken, as in a run without failures: there only to keep load_balancer in the graph.
        recover: "load_balancer",
      },
    )
    .addEdge("load_balancer", "parallel_coordinator")
    .addEdge("branch_merger", "quality_validator")
    .addEdge("quality_validator", "final_integrator")
    .addEdge("final_integrator", END);
  for (const node of BRANCH_NODES) builder.addNode(node, noop).addEdge(node, "sync_point_manager");
  return builder
    .compile({ checkpointer, name: "bare_topology" })
    .withConfig({ durability: "sync", ...(recursionLimit === undefined ? {} : { recursionLimit }) });
}
