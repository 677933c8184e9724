import type { AgentRequirement, DynamicTask } from "../../state/dynamic_agents/types.js";

/** Above this complexity (the 0–1 scale) a research task gets an agent of its own. */
export const HIGH_COMPLEXITY = 0.8;
export const RESEARCH_TIME_LIMIT_SECONDS = 600;
export const ANALYSIS_TIME_LIMIT_SECONDS = 400;
/** With more agents than this, a coordinator is added to combine their outputs. */
export const COORDINATION_THRESHOLD = 2;

/**
 * The agents the task queue calls for, in queue order:
 * - research with complexity above 0.8: a research agent, comprehensive detail, the deadline or 600 s;
 * - analysis: an analysis agent, the task's methodology (default statistical) and confidence 0.95, the deadline or 400 s;
 * - a task naming its capabilities: one agent having them all, the deadline or the spec's default;
 * - more than two of these: a coordination requirement with their count.
 * Other tasks call for no agent.
 */
export function deriveRequirements(taskQueue: readonly DynamicTask[]): AgentRequirement[] {
  const requirements: Omit<AgentRequirement, "index">[] = [];
  for (const task of taskQueue) {
    const time = task.deadline === undefined ? {} : { timeLimitSeconds: task.deadline };
    if (task.capabilities) {
      requirements.push({ taskDescription: task.description, capabilitiesNeeded: task.capabilities, ...time });
    } else if (task.type === "research" && (task.complexity ?? 0) > HIGH_COMPLEXITY) {
      requirements.push({
        taskDescription: task.description,
        capabilitiesNeeded: ["research"],
        domain: task.domain ?? "general",
        detailLevel: "comprehensive",
        ...(task.preferredSources ? { preferredSources: task.preferredSources } : {}),
        ...(task.verifyFacts === undefined ? {} : { verifyFacts: task.verifyFacts }),
        timeLimitSeconds: task.deadline ?? RESEARCH_TIME_LIMIT_SECONDS,
      });
    } else if (task.type === "analysis") {
      requirements.push({
        taskDescription: task.description,
        capabilitiesNeeded: ["analysis"],
        methodology: task.analysisType ?? "statistical",
        confidenceLevel: task.confidence ?? 0.95,
        timeLimitSeconds: task.deadline ?? ANALYSIS_TIME_LIMIT_SECONDS,
      });
    }
  }
  if (requirements.length > COORDINATION_THRESHOLD) {
    requirements.push({
      taskDescription: "Coordinate multiple specialized agents",
      capabilitiesNeeded: ["coordination"],
      agentCount: requirements.length,
      coordinationComplexity: "high",
    });
  }
  return requirements.map((requirement, index) => ({ index, ...requirement }));
}

/** Stable across processes: a resumed thread finds the same agents under the same ids. */
export function agentIdFor(threadId: string, requirementIndex: number): string {
  return `${threadId}/agent-${requirementIndex}`;
}
