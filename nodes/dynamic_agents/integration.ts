import type { LangGraphRunnableConfig } from "@langchain/langgraph";
import type { DynamicAgentsStateType, DynamicAgentsUpdate } from "../../state/dynamic_agents/state.js";
import type { AgentResult } from "../../state/dynamic_agents/types.js";
import type { BranchOutcome, QualityRoute } from "../../state/shared/merge.js";
import { mergeBranches } from "../shared/merge.js";
import { integrateFinalReport } from "../shared/report.js";
import { synchronise } from "../shared/synchronisation.js";
import { validateQuality } from "../shared/validation.js";

/**
 * The agents' results through the research workflow's shared steps: synchronisation, the
 * quality-weighted merge, the quality gate with its reviews, and the final report.
 */

/** The one sync point: every agent the queue called for. */
export const AGENTS_SYNC_POINT = "agents";

/**
 * An agent's result as the shared steps read it. Analysis agents feed the analysis synthesis;
 * every other agent (research, synthesis, the coordinator) feeds the research one.
 */
export function agentOutcome(result: AgentResult): BranchOutcome {
  const analysis = result.capabilities.includes("analysis") && !result.capabilities.includes("research");
  return {
    branchId: result.agentId,
    node: result.agentType,
    type: analysis ? "analysis" : "research",
    status: result.status,
    ...(result.results ? { results: result.results } : {}),
    ...(result.error ? { error: `${result.error.kind}: ${result.error.message}` } : {}),
    performance: result.performance,
  };
}

const agentIds = (state: Pick<DynamicAgentsStateType, "agents">) =>
  Object.values(state.agents)
    .sort((a, b) => a.requirement.index - b.requirement.index)
    .map((record) => record.agentId);

const outcomes = (state: Pick<DynamicAgentsStateType, "agents" | "agentResults">) =>
  agentIds(state).flatMap((id) => {
    const result = state.agentResults[id];
    return result ? [agentOutcome(result)] : [];
  });

/**
 * Agents retry within their own retryAttempts, and nothing re-dispatches them after: the sync
 * rule gets no retries, so a sync point short of its agents goes on to merge what there is.
 */
const NO_SYNC_RETRIES = 0;
/** There is no revision loop: the gate approves or fails the one merged result. */
const NO_REVISIONS = 0;

export async function agentsSyncPoint(state: DynamicAgentsStateType): Promise<DynamicAgentsUpdate> {
  const settings = state.settings!;
  const { rejection, reviewDecisions, nextCoordinationAction, ...sync } = synchronise({
    syncPoint: AGENTS_SYNC_POINT,
    required: agentIds(state),
    results: Object.fromEntries(outcomes(state).map((outcome) => [outcome.branchId, outcome])),
    pending: [],
    retryCounts: {},
    maxRetries: NO_SYNC_RETRIES,
    review: settings.review,
    revision: 0,
  });
  return {
    synchronizationStatus: sync.synchronizationStatus,
    executionTimeline: sync.executionTimeline,
    ...(reviewDecisions ? { reviewDecisions } : {}),
    ...(nextCoordinationAction === "rejected" ? rejection : {}),
  };
}

/** Whatever the sync point decided, the merge takes what there is, unless the reviewer rejected the run. */
export function routeAfterAgentsSync(state: DynamicAgentsStateType): "merge" | "rejected" {
  return state.status === "rejected" ? "rejected" : "merge";
}

export async function agentsMerger(
  state: DynamicAgentsStateType,
  config: LangGraphRunnableConfig,
): Promise<DynamicAgentsUpdate> {
  return mergeBranches(agentIds(state), outcomes(state), state.settings!, config);
}

export async function agentsQualityValidator(
  state: DynamicAgentsStateType,
  config: LangGraphRunnableConfig,
): Promise<DynamicAgentsUpdate> {
  const integrationResult = state.integrationResult;
  if (!integrationResult) throw new Error("quality_validator: branch_merger wrote no integration result");
  const validation = await validateQuality(
    {
      integrationResult,
      mergePerformance: state.mergePerformance,
      taskQueue: state.taskQueue,
      revisionCount: 0,
      reviewDecisions: state.reviewDecisions,
      settings: { ...state.settings!, maxRevisions: NO_REVISIONS },
    },
    config,
  );
  if ("rejected" in validation) return { ...validation.rejected, status: "rejected" };
  return {
    ...validation,
    ...(validation.qualityReport.route === "critical_failure" ? { status: "failed" as const } : {}),
  };
}

export function routeAgentsQuality(state: DynamicAgentsStateType): QualityRoute | "rejected" {
  if (state.status === "rejected") return "rejected";
  return state.qualityReport?.route ?? "critical_failure";
}

export async function agentsFinalReport(state: DynamicAgentsStateType): Promise<DynamicAgentsUpdate> {
  const records = Object.values(state.agents);
  const results = Object.values(state.agentResults);
  // The report's last message is for chat clients; this workflow keeps no messages.
  const { messages: _messages, ...report } = integrateFinalReport({
    integrationResult: state.integrationResult!,
    qualityReport: state.qualityReport,
    taskQueue: state.taskQueue,
    settings: state.settings!,
    mode: "dynamic agents",
    results: Object.fromEntries(
      records.map((record) => {
        const result = state.agentResults[record.agentId];
        const error = result?.error ?? record.error;
        return [
          record.agentId,
          {
            node: record.specification?.agentType ?? "no template",
            ...(error ? { error: `${error.kind}: ${error.message}` } : {}),
          },
        ];
      }),
    ),
    branches: records.length,
    revisionCount: 0,
    retries: results.reduce((sum, r) => sum + Math.max(0, r.attempt - 1), 0),
    startedAt: undefined,
    modelCalls: results.reduce((sum, r) => sum + r.modelCalls, 0),
  });
  return report;
}
