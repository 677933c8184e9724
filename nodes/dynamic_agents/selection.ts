import type { AgentTemplate, TemplateRegistry } from "../../state/dynamic_agents/templates.js";
import type { AgentCapability, AgentError, CandidateScore } from "../../state/dynamic_agents/types.js";
import type { TemplateStats } from "../../checkpoints/dynamic_agents/agent_stats.js";

export const WEIGHTS = { capabilityMatch: 0.4, successRate: 0.4, resourceEfficiency: 0.2 } as const;

/** Successes over finished runs; a template with no finished run yet is trusted fully. */
export function successRate(stats: TemplateStats | undefined): number {
  const finished = (stats?.successes ?? 0) + (stats?.failures ?? 0);
  return finished === 0 ? 1 : stats!.successes / finished;
}

/** Tokens the requirement needs over the tokens the template reserves, at most 1: reserving more wastes the pool. */
export function resourceEfficiency(template: AgentTemplate, tokensNeeded: number): number {
  return Math.min(1, tokensNeeded / template.tokens);
}

/** The templates covering every required capability: the intersection over all of them, empty if any is uncovered. */
export function candidateTemplates(required: readonly AgentCapability[], registry: TemplateRegistry): AgentTemplate[] {
  return Object.values(registry).filter((template) =>
    required.every((capability) => template.capabilities.includes(capability)),
  );
}

/**
 * The candidates scored 0.4 × required/template capabilities + 0.4 × success rate + 0.2 ×
 * resource efficiency, best first; equal scores in name order.
 */
export function scoreCandidates(
  required: readonly AgentCapability[],
  registry: TemplateRegistry,
  stats: Readonly<Record<string, TemplateStats>>,
  tokensNeeded: number,
): CandidateScore[] {
  return candidateTemplates(required, registry)
    .map((template) => {
      const capabilityMatch = required.length / template.capabilities.length;
      const rate = successRate(stats[template.agentType]);
      const efficiency = resourceEfficiency(template, tokensNeeded);
      return {
        agentType: template.agentType,
        score:
          WEIGHTS.capabilityMatch * capabilityMatch +
          WEIGHTS.successRate * rate +
          WEIGHTS.resourceEfficiency * efficiency,
        capabilityMatch,
        successRate: rate,
        resourceEfficiency: efficiency,
      };
    })
    .sort((a, b) => b.score - a.score || (a.agentType < b.agentType ? -1 : a.agentType > b.agentType ? 1 : 0));
}

export function noSuitableAgent(required: readonly AgentCapability[]): AgentError {
  return {
    kind: "NoSuitableAgentError",
    message: `no agent template has all of the required capabilities: ${required.join(", ")}`,
  };
}
