import { recordingWorkflow } from "../checkpoints/recorded_workflow.js";
import { END, START, StateGraph, type BaseCheckpointSaver, type LangGraphRunnableConfig } from "@langchain/langgraph";
import type { WorkflowDefinition } from "../state/shared/workflow_definition.js";
import { REVIEW_POINTS } from "../state/shared/review.js";
import { summariseResearch } from "../state/parallel_workflow/summary.js";
import { keepRecursionLimitWhenServed } from "./shared/langgraph_api_compat.js";
import { ConfigurationSchema, checkRunRequest } from "../state/parallel_workflow/configuration.js";
import { WorkflowInputSchema } from "../state/parallel_workflow/input.js";
import { InputError } from "../state/shared/errors.js";
import {
  PublicWorkflowInputSchema,
  WorkflowStateViewSchema,
  withServedStatus,
} from "../state/parallel_workflow/served.js";
import {
  WorkflowState,
  type BranchInput,
  type SyncRoute,
  type ValidationRoute,
  type WorkflowUpdate,
} from "../state/parallel_workflow/workflow.js";
import { BRANCHES, type BranchNodeName, type BranchSpec } from "../state/parallel_workflow/branches.js";
import { runBranch } from "../nodes/parallel_workflow/branch.js";
import { taskAnalyzer } from "../nodes/parallel_workflow/task_analyzer.js";
import { PARALLEL_COORDINATOR_ENDS, parallelCoordinator } from "../nodes/parallel_workflow/parallel_coordinator.js";
import { routeAfterSynchronization, syncPointManager } from "../nodes/parallel_workflow/sync_point_manager.js";
import { loadBalancer } from "../nodes/parallel_workflow/load_balancer.js";
import { branchMerger } from "../nodes/parallel_workflow/branch_merger.js";
import { qualityValidator, routeQualityValidation } from "../nodes/parallel_workflow/quality_validator.js";
import { finalIntegrator } from "../nodes/parallel_workflow/final_integrator.js";

/** A branch node: the shared branch work, in the row's role. */
const branchNode = ({
  node,
  role,
}: BranchSpec): [BranchNodeName, (input: BranchInput, config: LangGraphRunnableConfig) => Promise<WorkflowUpdate>] => [
  node,
  (input, config) => runBranch({ node, role }, input, config),
];

/** The research workflow, wired as the README's diagram draws it; its rules: docs/design.md. */
export const builder = new StateGraph(WorkflowState, { input: WorkflowInputSchema, context: ConfigurationSchema })
  .addNode("task_analyzer", taskAnalyzer)
  .addNode("parallel_coordinator", parallelCoordinator, { ends: PARALLEL_COORDINATOR_ENDS })
  .addNode(BRANCHES.map(branchNode))
  .addNode("sync_point_manager", syncPointManager)
  .addNode("load_balancer", loadBalancer)
  .addNode("branch_merger", branchMerger)
  .addNode("quality_validator", qualityValidator)
  .addNode("final_integrator", finalIntegrator)

  .addEdge(START, "task_analyzer")
  .addEdge("task_analyzer", "parallel_coordinator");
// Each branch node leads to sync_point_manager on its own edge: one edge from all of them
// would wait for every branch, where a wave dispatches only some.
for (const { node } of BRANCHES) builder.addEdge(node, "sync_point_manager");
builder
  .addConditionalEdges("sync_point_manager", routeAfterSynchronization, {
    proceed_to_merge: "branch_merger",
    conditional_proceed: "branch_merger",
    recovery_exhausted: "branch_merger",
    continue_waiting: "parallel_coordinator",
    timeout_recovery: "load_balancer",
    rejected: END,
  } as const satisfies Record<SyncRoute, string>)
  .addEdge("load_balancer", "parallel_coordinator")
  .addEdge("branch_merger", "quality_validator")
  .addConditionalEdges("quality_validator", routeQualityValidation, {
    quality_approved: "final_integrator",
    needs_revision: "load_balancer",
    critical_failure: END,
    rejected: END,
  } as const satisfies Record<ValidationRoute, string>)
  .addEdge("final_integrator", END);

// The LangGraph server reads the schemas it serves (GET /assistants/{id}/schemas) from these
// of the builder's definitions. The state's channels come from the Annotation, which gives the
// server no JSON schema, so state and output are described by the state's view (set here, not
// as the constructor's output, which would retype every invoke's result); the input form
// leaves out the `settings` key the CLI checkpoints its flags in. See docs/decisions.
builder._outputRuntimeDefinition = WorkflowStateViewSchema;
builder._inputRuntimeDefinition = PublicWorkflowInputSchema;

/**
 * The builder as the served graph describes itself: the state's view as its state schema too.
 * Not on the builder its nodes run with: LangGraph checks every node's update against a state
 * schema, building and compiling a fresh partial zod schema per update (a quarter of a run's
 * CPU), for a view whose records are loose and so check nothing the node's types do not.
 */
function describedBuilder(): typeof builder {
  return Object.create(builder, { _schemaRuntimeDefinition: { value: WorkflowStateViewSchema } });
}

/**
 * Every loop in the graph is bounded by the settings (waves by the plan, retries by
 * maxRetries, revisions by maxRevisions), but a wide sequential plan takes three
 * super-steps per branch: LangGraph's default limit of 25 would cut it off.
 */
export const RECURSION_LIMIT = 10_000;

/**
 * "sync" saves each step's checkpoint before the next step starts. Under LangGraph's
 * default ("async") a process killed mid-fan-out can have saved its branches' results
 * against a checkpoint that was itself never saved: on resume those results are lost
 * and the branches run again.
 */
const RUN_DEFAULTS = { recursionLimit: RECURSION_LIMIT, durability: "sync" } as const;

type Workflow = ReturnType<ReturnType<typeof builder.compile>["withConfig"]>;

/**
 * Checks every run's request the way the CLI does, before LangGraph saves the input
 * (invoke and streamEvents run through stream): a bad run gets the CLI's one-line message,
 * where the input and context schemas would throw zod's issue list as JSON, and leaves no
 * checkpoint.
 */
function checkingRuns(workflow: Workflow): Workflow {
  const stream = workflow.stream.bind(workflow);
  workflow.stream = (input, options) => {
    checkRunRequest(input, options ?? {});
    return stream(input, options);
  };
  return workflow;
}

/** For persistent runs: the CLI and the tests compile with Postgres. */
export function compileWorkflow(checkpointer: BaseCheckpointSaver) {
  return checkingRuns(
    builder
      .compile({ checkpointer: recordingWorkflow(checkpointer, "parallel_workflow"), name: "parallel_workflow" })
      .withConfig(RUN_DEFAULTS),
  );
}

/**
 * For langgraph.json: the server brings its own checkpointer. withConfig copies the compiled
 * graph; its nodes keep the builder they were compiled with, and schema readers read this one's.
 */
export const graph = checkingRuns(builder.compile({ name: "parallel_workflow" }).withConfig(RUN_DEFAULTS));
graph.builder = describedBuilder();

/**
 * A request the served graph refuses. The API server (Hono) answers an error that has
 * getResponse with that response: a 400 carrying the one-line message, not a 500.
 */
export class RefusedRequest extends InputError {
  override name = "RefusedRequest";
  getResponse(): Response {
    return new Response(this.message, { status: 400, headers: { "content-type": "text/plain; charset=utf-8" } });
  }
}

export const UPDATE_WITHOUT_AS_NODE =
  "updateState needs asNode, the node the edit stands for: a branch node (e.g. research_branch_alpha) at the " +
  "sync_point_manager review, branch_merger at the quality_validator review (README: Review through the API)";

// Without asNode, LangGraph credits the edit to whichever node wrote last, which at a review
// point ends the run with nothing next and no report. An edit must say where it belongs.
const updateState = graph.updateState.bind(graph);
graph.updateState = async (config, values, asNode) => {
  if (asNode === undefined) throw new RefusedRequest(UPDATE_WITHOUT_AS_NODE);
  return updateState(config, values, asNode);
};

const getState = graph.getState.bind(graph);
graph.getState = async (config, options) => withServedStatus(await getState(config, options));
const getStateHistory = graph.getStateHistory.bind(graph);
graph.getStateHistory = async function* (config, options) {
  for await (const snapshot of getStateHistory(config, options)) yield withServedStatus(snapshot);
};

keepRecursionLimitWhenServed(graph, RECURSION_LIMIT);

/** The research workflow, as the registry, the CLI, the server and the bench see it. */
export const parallelWorkflow: WorkflowDefinition<ReturnType<typeof compileWorkflow>> = {
  name: "parallel_workflow",
  compile: compileWorkflow,
  // The served graph carries the API's checks (asNode required, truthful status) that the
  // CLI's compileWorkflow does not; like LangGraph's own server, we give it its checkpointer.
  serve: (checkpointer) => Object.assign(graph, { checkpointer: recordingWorkflow(checkpointer, "parallel_workflow") }),
  subgraph: () => builder.compile({ name: "parallel_workflow" }).withConfig(RUN_DEFAULTS),
  inputSchema: WorkflowInputSchema,
  configurationSchema: ConfigurationSchema,
  reviewPoints: REVIEW_POINTS,
  checkRequest: checkRunRequest,
  summarise: summariseResearch,
};
