import { recordingWorkflow } from "../checkpoints/recorded_workflow.js";
import { END, START, StateGraph, type BaseCheckpointSaver } from "@langchain/langgraph";
import { lazyAgentStats, type AgentStatsStore } from "../checkpoints/dynamic_agents/agent_stats.js";
import { agentGeneratorNode, routeToAgents } from "../nodes/dynamic_agents/agent_generator.js";
import { coordinationNode } from "../nodes/dynamic_agents/coordination.js";
import { summariseDynamicAgents } from "../nodes/dynamic_agents/summary.js";
import { dynamicAgentNode } from "../nodes/dynamic_agents/dynamic_agent.js";
import {
  agentsFinalReport,
  agentsMerger,
  agentsQualityValidator,
  agentsSyncPoint,
  routeAfterAgentsSync,
  routeAgentsQuality,
} from "../nodes/dynamic_agents/integration.js";
import { DynamicAgentsState } from "../state/dynamic_agents/state.js";
import { AGENT_TEMPLATES, type TemplateRegistry } from "../state/dynamic_agents/templates.js";
import {
  DynamicAgentsInputSchema,
  DynamicAgentsSettingsSchema,
  dynamicAgentsSettings,
  parseDynamicAgentsInput,
} from "../state/dynamic_agents/types.js";
import { REVIEW_POINTS } from "../state/shared/review.js";
import type { WorkflowDefinition } from "../state/shared/workflow_definition.js";

/**
 * Agents specified, scored, allocated and run at run time: agent_generator derives the agents the
 * task queue needs and Sends each to dynamic_agent; coordination runs after them all; their
 * results then pass the research workflow's shared steps, review points included. The
 * statistics selection learns from are a store of their own, shared across threads and processes.
 */
export function dynamicAgentsBuilder(stats: AgentStatsStore, registry: TemplateRegistry = AGENT_TEMPLATES) {
  return new StateGraph(DynamicAgentsState, { input: DynamicAgentsInputSchema })
    .addNode("agent_generator", agentGeneratorNode(stats, registry))
    .addNode("dynamic_agent", dynamicAgentNode(stats))
    .addNode("coordination", coordinationNode(stats, registry))
    .addEdge(START, "agent_generator")
    .addConditionalEdges("agent_generator", routeToAgents(stats, registry), ["dynamic_agent", "coordination"])
    .addNode("sync_point_manager", agentsSyncPoint)
    .addNode("branch_merger", agentsMerger)
    .addNode("quality_validator", agentsQualityValidator)
    .addNode("final_integrator", agentsFinalReport)
    .addEdge("dynamic_agent", "coordination")
    .addEdge("coordination", "sync_point_manager")
    .addConditionalEdges("sync_point_manager", routeAfterAgentsSync, { merge: "branch_merger", rejected: END })
    .addEdge("branch_merger", "quality_validator")
    .addConditionalEdges("quality_validator", routeAgentsQuality, {
      quality_approved: "final_integrator",
      critical_failure: END,
      rejected: END,
    })
    .addEdge("final_integrator", END);
}

/**
 * "sync" saves each step's checkpoint before the next starts, and each agent's result as it
 * finishes, so a process killed mid-fan-out loses only the agents still running.
 */
const RUN_DEFAULTS = { durability: "sync" } as const;

export function compileDynamicAgents(checkpointer: BaseCheckpointSaver, stats: AgentStatsStore) {
  return dynamicAgentsBuilder(stats)
    .compile({ checkpointer: recordingWorkflow(checkpointer, "dynamic_agents"), name: "dynamic_agents" })
    .withConfig(RUN_DEFAULTS);
}

/** For langgraph.json: the server brings its own checkpointer; the statistics open on first use from the environment. */
export const graph = dynamicAgentsBuilder(lazyAgentStats())
  .compile({ name: "dynamic_agents" })
  .withConfig(RUN_DEFAULTS);

/**
 * On a given checkpointer, with the statistics on the database the environment names: the one
 * the CLI and `orchestra serve` open their checkpointer on.
 */
const compileOnEnvironmentStats = (checkpointer: BaseCheckpointSaver) =>
  compileDynamicAgents(checkpointer, lazyAgentStats());

/** The dynamic agents workflow, as the registry, the CLI, the server and the bench see it. */
export const dynamicAgents: WorkflowDefinition<ReturnType<typeof compileDynamicAgents>> = {
  name: "dynamic_agents",
  compile: compileOnEnvironmentStats,
  // Its input and settings checks are checkRequest's; the server adds nothing else to them.
  serve: compileOnEnvironmentStats,
  subgraph: () => dynamicAgentsBuilder(lazyAgentStats()).compile({ name: "dynamic_agents" }).withConfig(RUN_DEFAULTS),
  inputSchema: DynamicAgentsInputSchema,
  configurationSchema: DynamicAgentsSettingsSchema.partial(),
  reviewPoints: REVIEW_POINTS,
  checkRequest: (input, config) => {
    if (input !== null && input !== undefined) parseDynamicAgentsInput(input);
    dynamicAgentsSettings(config);
  },
  summarise: summariseDynamicAgents,
};
