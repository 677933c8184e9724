import { createChatModel } from "../../models/index.js";
import { specializationParameters, type TemplateRegistry } from "../../state/dynamic_agents/templates.js";
import {
  AgentSpecificationSchema,
  DEFAULT_QUALITY_THRESHOLD,
  DEFAULT_TIMEOUT_SECONDS,
  type AgentError,
  type AgentRecord,
  type AgentRequirement,
  type AgentSpecification,
  type DynamicAgentsSettings,
  type LedgerEntry,
  type Resources,
} from "../../state/dynamic_agents/types.js";
import { allocate, estimateTokens, reservationFor } from "./resources.js";
import { noSuitableAgent, scoreCandidates } from "./selection.js";
import type { TemplateStats } from "../../checkpoints/dynamic_agents/agent_stats.js";

/** The specification for a requirement from the best-scoring template, or the record of why there is none. */
export function specify(
  agentId: string,
  requirement: AgentRequirement,
  registry: TemplateRegistry,
  stats: Readonly<Record<string, TemplateStats>>,
): AgentRecord {
  const candidates = scoreCandidates(requirement.capabilitiesNeeded, registry, stats, estimateTokens(requirement));
  const best = candidates[0];
  if (!best)
    return {
      agentId,
      requirement,
      candidates,
      status: "refused",
      error: noSuitableAgent(requirement.capabilitiesNeeded),
    };
  const template = registry[best.agentType]!;
  const specification = AgentSpecificationSchema.parse({
    agentType: template.agentType,
    capabilities: requirement.capabilitiesNeeded,
    resourceRequirements: reservationFor(template),
    performanceTargets: {
      responseTimeSeconds: requirement.timeLimitSeconds ?? DEFAULT_TIMEOUT_SECONDS,
      qualityScore: DEFAULT_QUALITY_THRESHOLD,
    },
    specializationParameters: specializationParameters(template, requirement),
    ...(requirement.timeLimitSeconds === undefined ? {} : { timeoutSeconds: requirement.timeLimitSeconds }),
    qualityThresholds: { dataQuality: DEFAULT_QUALITY_THRESHOLD },
    ...(template.maxConcurrentTasks === undefined ? {} : { maxConcurrentTasks: template.maxConcurrentTasks }),
    ...(template.monitoringEnabled === undefined ? {} : { monitoringEnabled: template.monitoringEnabled }),
  } satisfies Partial<AgentSpecification>);
  return { agentId, requirement, candidates, specification, status: "deferred" };
}

export type Instantiation = { allocation: LedgerEntry } | { error: AgentError };

/**
 * Makes an agent of the specification real: its template must exist, the pool must have room
 * (the allocation goes on the ledger), and its model must be constructible. A failure after
 * allocating gives nothing back to release: the allocation is never written.
 */
export function instantiate(
  agentId: string,
  specification: AgentSpecification,
  registry: TemplateRegistry,
  settings: DynamicAgentsSettings,
  capacity: Resources,
  ledger: readonly LedgerEntry[],
): Instantiation {
  if (!registry[specification.agentType]) {
    return {
      error: {
        kind: "UnknownAgentTypeError",
        message: `no template registered for agent type: ${specification.agentType}`,
      },
    };
  }
  const allocated = allocate(capacity, ledger, agentId, specification.agentType, specification.resourceRequirements);
  if ("error" in allocated) return allocated;
  try {
    createChatModel(settings.model);
  } catch (error) {
    return {
      error: {
        kind: "AgentCreationError",
        message: `failed to create agent ${agentId}: ${error instanceof Error ? error.message : String(error)}`,
      },
    };
  }
  return { allocation: allocated.entry };
}
