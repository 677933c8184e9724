import type { DynamicAgentsStateType } from "../../state/dynamic_agents/state.js";
import type { WorkflowSummary } from "../../state/shared/workflow_definition.js";
import type { TemplateRegistry } from "../../state/dynamic_agents/templates.js";
import type { AgentCapability, AgentRecord, AgentResult } from "../../state/dynamic_agents/types.js";
import { round } from "../shared/findings.js";
import { successRate } from "./selection.js";
import type { TemplateStats } from "../../checkpoints/dynamic_agents/agent_stats.js";

export type AgentStatus = "completed" | "failed" | "rejected_for_resources" | "pending";

export interface AgentSummary {
  agentId: string;
  agentType: string | null;
  capabilities: AgentCapability[];
  score: number | null;
  status: AgentStatus;
  error: string | null;
}

/** One entry per agent for `show --json`: what was chosen, how it scored, and how it ended. */
export function summariseAgents(
  agents: Readonly<Record<string, AgentRecord>>,
  results: Readonly<Record<string, AgentResult>>,
): AgentSummary[] {
  return Object.values(agents)
    .sort((a, b) => a.requirement.index - b.requirement.index)
    .map((record) => {
      const result = results[record.agentId];
      const error = result?.error ?? record.error;
      const status: AgentStatus = result
        ? result.status === "success"
          ? "completed"
          : "failed"
        : record.error?.kind === "ResourceUnavailableError"
          ? "rejected_for_resources"
          : record.error
            ? "failed"
            : "pending";
      return {
        agentId: record.agentId,
        agentType: record.specification?.agentType ?? null,
        capabilities: record.requirement.capabilitiesNeeded,
        score: record.candidates[0]?.score ?? null,
        status,
        error: error ? `${error.kind}: ${error.message}` : null,
      };
    });
}

export interface TemplateSummary {
  agentType: string;
  capabilities: AgentCapability[];
  creations: number;
  successRate: number;
  averageQuality: number | null;
  /** From the monitored agents (monitoringEnabled): mean seconds per run, runs that ended in an error, the latest error. */
  meanSeconds: number | null;
  errors: number;
  lastError: string | null;
}

const nullableRound = (x: number | null | undefined) => (x === null || x === undefined ? null : round(x));

/** The templates with what history says of them, for `orchestra agents`. */
export function summariseTemplates(
  registry: TemplateRegistry,
  stats: Readonly<Record<string, TemplateStats>>,
): TemplateSummary[] {
  return Object.values(registry)
    .map((template) => ({
      agentType: template.agentType,
      capabilities: [...template.capabilities],
      creations: stats[template.agentType]?.creations ?? 0,
      successRate: successRate(stats[template.agentType]),
      // Postgres's avg of the agents' 3-decimal scores carries float noise (0.8765000000000001) into --json.
      averageQuality: nullableRound(stats[template.agentType]?.averageQuality),
      meanSeconds: nullableRound(stats[template.agentType]?.meanSeconds),
      errors: stats[template.agentType]?.errors ?? 0,
      lastError: stats[template.agentType]?.lastError ?? null,
    }))
    .sort((a, b) => (a.agentType < b.agentType ? -1 : 1));
}

/** A thread's standing for `threads`, `show` and `report`: its status, the gate's score and the report. */
export function summariseDynamicAgents(values: Partial<DynamicAgentsStateType>): WorkflowSummary {
  return {
    status: values.status ?? "running",
    qualityScore: values.qualityReport?.score ?? null,
    report: values.finalReport ?? null,
    ...(values.failureReason ? { failureReason: values.failureReason } : {}),
  };
}
