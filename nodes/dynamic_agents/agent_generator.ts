import { Send, type LangGraphRunnableConfig } from "@langchain/langgraph";
import type { AgentStatsStore, TemplateStats } from "../../checkpoints/dynamic_agents/agent_stats.js";
import type {
  AgentTaskInput,
  DynamicAgentsStateType,
  DynamicAgentsTimelineEvent,
  DynamicAgentsUpdate,
} from "../../state/dynamic_agents/state.js";
import { withRegistered, type TemplateRegistry } from "../../state/dynamic_agents/templates.js";
import {
  dynamicAgentsSettings,
  type AgentRecord,
  type AgentRequirement,
  type DynamicAgentsSettings,
  type LedgerEntry,
} from "../../state/dynamic_agents/types.js";
import { now } from "../../state/shared/time.js";
import { hasSources, SourcesSettingsSchema } from "../../state/shared/sources.js";
import { agentIdFor, deriveRequirements } from "./requirements.js";
import { poolCapacity } from "./resources.js";
import { instantiate, specify } from "./specification.js";

/** The requirement the coordinator answers: it runs after the others, on their outputs. */
export const isCoordinator = (requirement: AgentRequirement) => requirement.agentCount !== undefined;

/**
 * Every requirement's agent, in order: specified from the best template, then instantiated
 * against the pool, each allocation counting against the next. The coordinator is only
 * specified here; it is instantiated when the others have finished and released their resources.
 */
export function planAgents(
  threadId: string,
  requirements: readonly AgentRequirement[],
  registry: TemplateRegistry,
  stats: Readonly<Record<string, TemplateStats>>,
  settings: DynamicAgentsSettings,
): { records: AgentRecord[]; allocations: LedgerEntry[] } {
  const capacity = poolCapacity(settings);
  const allocations: LedgerEntry[] = [];
  const records = requirements.map((requirement): AgentRecord => {
    const record = specify(agentIdFor(threadId, requirement.index), requirement, registry, stats);
    if (!record.specification || isCoordinator(requirement)) return record;
    const made = instantiate(record.agentId, record.specification, registry, settings, capacity, allocations);
    if ("error" in made) return { ...record, status: "refused", error: made.error };
    allocations.push(made.allocation);
    return { ...record, status: "instantiated" };
  });
  return { records, allocations };
}

export function agentCreationEvent(node: string, records: readonly AgentRecord[]): DynamicAgentsTimelineEvent {
  return {
    at: now(),
    event: "dynamic_agent_creation",
    node,
    agents: records.map((r) => ({
      agentId: r.agentId,
      agentType: r.specification?.agentType ?? null,
      status: r.status,
      ...(r.error ? { error: r.error.kind } : {}),
    })),
    agentsCreated: records.filter((r) => r.status === "instantiated").length,
  };
}

/** The built-in templates and those registered with `orchestra agents add`, read at each step that needs them. */
export async function runRegistry(stats: AgentStatsStore, builtIn: TemplateRegistry): Promise<TemplateRegistry> {
  return withRegistered(builtIn, await stats.readTemplates());
}

export function agentGeneratorNode(stats: AgentStatsStore, builtIn: TemplateRegistry) {
  return async function agentGenerator(
    state: DynamicAgentsStateType,
    config: LangGraphRunnableConfig,
  ): Promise<DynamicAgentsUpdate> {
    const registry = await runRegistry(stats, builtIn);
    const threadId = String(config.configurable?.thread_id ?? "");
    // The settings the input carried win: the CLI checkpoints its flags there, so a resume keeps them.
    const settings = dynamicAgentsSettings(state.settings ? { configurable: state.settings } : config);
    const requirements = deriveRequirements(state.taskQueue);
    const { records, allocations } = planAgents(threadId, requirements, registry, await stats.readStats(), settings);
    const created = records.filter((r) => r.status === "instantiated");
    await stats.recordCreated(
      created.map((r) => ({ agentId: r.agentId, threadId, agentType: r.specification!.agentType })),
    );
    return {
      settings,
      workflowId: threadId,
      requirements,
      agents: Object.fromEntries(records.map((r) => [r.agentId, r])),
      resourceLedger: allocations,
      executionTimeline: agentCreationEvent("agent_generator", records),
    };
  };
}

/** What a dynamic_agent task receives for an instantiated agent. */
export function agentTaskInput(
  record: AgentRecord,
  allocation: LedgerEntry,
  registry: TemplateRegistry,
  model: string,
  inputs: AgentTaskInput["inputs"] = [],
): AgentTaskInput {
  const specification = record.specification!;
  return {
    agentId: record.agentId,
    model,
    role: registry[specification.agentType]!.role,
    specification,
    allocation,
    taskDescription: record.requirement.taskDescription,
    inputs,
  };
}

/** A Send per instantiated agent; with none, straight on to coordination. */
export function routeToAgents(stats: AgentStatsStore, builtIn: TemplateRegistry) {
  return async function route(state: DynamicAgentsStateType): Promise<Send[] | "coordination"> {
    const registry = await runRegistry(stats, builtIn);
    // Only the source keys travel: each Send is saved with the step's writes.
    const sources = hasSources(state.settings!) ? { sources: SourcesSettingsSchema.parse(state.settings) } : {};
    const allocations = new Map(state.resourceLedger.filter((e) => e.kind === "allocate").map((e) => [e.agentId, e]));
    const sends = Object.values(state.agents)
      .filter((record) => record.status === "instantiated")
      .map(
        (record) =>
          new Send("dynamic_agent", {
            ...agentTaskInput(record, allocations.get(record.agentId)!, registry, state.settings!.model),
            ...sources,
          }),
      );
    return sends.length ? sends : "coordination";
  };
}
