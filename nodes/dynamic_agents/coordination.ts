import type { LangGraphRunnableConfig } from "@langchain/langgraph";
import type { AgentStatsStore } from "../../checkpoints/dynamic_agents/agent_stats.js";
import type { AgentTaskInput, DynamicAgentsStateType, DynamicAgentsUpdate } from "../../state/dynamic_agents/state.js";
import type { TemplateRegistry } from "../../state/dynamic_agents/templates.js";
import type { AgentRecord, AgentResult } from "../../state/dynamic_agents/types.js";
import { now } from "../../state/shared/time.js";
import { agentTaskInput, isCoordinator, runRegistry } from "./agent_generator.js";
import { runAndRecord } from "./dynamic_agent.js";
import { poolCapacity } from "./resources.js";
import { instantiate } from "./specification.js";
import { summariseAgents } from "./summary.js";

/** The successful agents' outputs, in requirement order: the coordinator's material. */
export function coordinationInputs(
  agents: Readonly<Record<string, AgentRecord>>,
  results: Readonly<Record<string, AgentResult>>,
): AgentTaskInput["inputs"] {
  return Object.values(agents)
    .filter((record) => !isCoordinator(record.requirement))
    .sort((a, b) => a.requirement.index - b.requirement.index)
    .flatMap((record) => {
      const result = results[record.agentId];
      if (result?.status !== "success" || !result.results) return [];
      return [
        {
          agentId: record.agentId,
          agentType: result.agentType,
          summary: result.results.summary,
          claims: result.results.findings.map((f) => f.claim),
        },
      ];
    });
}

/**
 * Runs after every other agent: instantiates the coordinator, if the queue called for one, on
 * the pool the others have given back, runs it on their outputs, and records how every agent ended.
 * Their results then go to the shared steps (nodes/dynamic_agents/integration.ts).
 */
export function coordinationNode(stats: AgentStatsStore, builtIn: TemplateRegistry) {
  return async function coordination(
    state: DynamicAgentsStateType,
    config: LangGraphRunnableConfig,
  ): Promise<DynamicAgentsUpdate> {
    const registry = await runRegistry(stats, builtIn);
    const settings = state.settings!;
    const record = Object.values(state.agents).find((r) => isCoordinator(r.requirement) && r.status === "deferred");
    let agents = state.agents;
    let results = state.agentResults;
    const update: DynamicAgentsUpdate = {};
    if (record) {
      const inputs = coordinationInputs(state.agents, state.agentResults);
      const made = inputs.length
        ? instantiate(
            record.agentId,
            record.specification!,
            registry,
            settings,
            poolCapacity(settings),
            state.resourceLedger,
          )
        : ({
            error: { kind: "AgentCreationError", message: "no agent succeeded, so there is nothing to coordinate" },
          } as const);
      if ("error" in made) {
        const refused: AgentRecord = { ...record, status: "refused", error: made.error };
        agents = { ...agents, [record.agentId]: refused };
        update.agents = { [record.agentId]: refused };
      } else {
        const threadId = String(config.configurable?.thread_id ?? "");
        await stats.recordCreated([{ agentId: record.agentId, threadId, agentType: record.specification!.agentType }]);
        const { result, release } = await runAndRecord(
          agentTaskInput(record, made.allocation, registry, settings.model, inputs),
          config,
          stats,
        );
        const instantiated: AgentRecord = { ...record, status: "instantiated" };
        agents = { ...agents, [record.agentId]: instantiated };
        results = { ...results, [record.agentId]: result };
        update.agents = { [record.agentId]: instantiated };
        update.agentResults = { [record.agentId]: result };
        // The allocation and its release land in one update: the ledger never holds one without the other.
        update.resourceLedger = [made.allocation, release];
      }
    }
    const summary = summariseAgents(agents, results);
    return {
      ...update,
      executionTimeline: {
        at: now(),
        event: "dynamic_agents_finished",
        node: "coordination",
        agents: summary.map(({ agentId, agentType, status, error }) => ({
          agentId,
          agentType,
          status,
          ...(error ? { error } : {}),
        })),
        completed: summary.filter((s) => s.status === "completed").length,
        failed: summary.filter((s) => s.status === "failed").length,
        rejectedForResources: summary.filter((s) => s.status === "rejected_for_resources").length,
      },
    };
  };
}
