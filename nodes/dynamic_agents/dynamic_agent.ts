import type { AIMessage } from "@langchain/core/messages";
import { HumanMessage, SystemMessage } from "@langchain/core/messages";
import type { RunnableConfig } from "@langchain/core/runnables";
import { AsyncLocalStorageProviderSingleton } from "@langchain/core/singletons";
import type { LangGraphRunnableConfig } from "@langchain/langgraph";
import type { AgentOutcome, AgentStatsStore } from "../../checkpoints/dynamic_agents/agent_stats.js";
import { abortable, Deadline } from "../../models/deadline.js";
import { createChatModel } from "../../models/index.js";
import type { AgentTaskInput, DynamicAgentsUpdate } from "../../state/dynamic_agents/state.js";
import type { AgentError, AgentResult, LedgerEntry } from "../../state/dynamic_agents/types.js";
import { BRANCH_FINDINGS, BranchFindingsSchema, type BranchFindings } from "../../state/shared/findings.js";
import { now } from "../../state/shared/time.js";
import { dataQualityScore } from "../shared/findings.js";
import { researchSources } from "../shared/sources/sourced_research.js";
import { concurrencyKey, withinConcurrencyLimit } from "./concurrency.js";
import { agentPrompt, agentSourcesBrief } from "./prompts.js";
import { releaseOf } from "./resources.js";

const round = (x: number) => Math.round(x * 1000) / 1000;

/**
 * Model calls are made as if from a node named after the agent: the offline model's fault plan
 * and call log, and traces, tell the agents apart although they all run in dynamic_agent.
 */
function asAgent<T>(
  agentId: string,
  config: RunnableConfig,
  signal: AbortSignal,
  call: (config: RunnableConfig) => Promise<T>,
): Promise<T> {
  const agentConfig: RunnableConfig = { ...config, signal, metadata: { ...config.metadata, langgraph_node: agentId } };
  return AsyncLocalStorageProviderSingleton.runWithConfig(agentConfig, () => call(agentConfig));
}

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

/**
 * Runs one agent: its role as the system prompt, one structured model call per attempt, at most
 * 1 + retryAttempts attempts, all within timeoutSeconds. An agent with sources runs its tool loop
 * once instead: the loop is saved under this task, so a second attempt would resume the first
 * rather than start afresh, and a failing tool is already a result the loop reads, not a failure.
 * Failures end as a failed result, never a throw, except the run's own cancellation.
 */
export async function runAgent(input: AgentTaskInput, config: RunnableConfig): Promise<AgentResult> {
  const { specification } = input;
  const timeoutMs = specification.timeoutSeconds * 1000;
  const deadline = new Deadline(timeoutMs, config.signal);
  const { signal } = deadline;
  const startedAt = now();
  const started = performance.now();
  const model = createChatModel(input.model).withStructuredOutput(BranchFindingsSchema, {
    name: BRANCH_FINDINGS,
    includeRaw: true,
  });
  const messages = [new SystemMessage(input.role), new HumanMessage(agentPrompt(input))];

  const { sources } = input;
  let findings: BranchFindings | undefined;
  let toolCalls: number | undefined;
  let tokensUsed = 0;
  let error: AgentError | undefined;
  let attempt = 0;
  try {
    while (attempt <= (sources ? 0 : specification.retryAttempts) && !findings) {
      attempt += 1;
      try {
        if (sources) {
          const brief = agentSourcesBrief(input);
          ({ findings, toolCalls } = await asAgent(input.agentId, config, signal, (agentConfig) =>
            abortable(researchSources(createChatModel(input.model), sources, brief, agentConfig), signal),
          ));
        } else {
          const answer = await asAgent(input.agentId, config, signal, (agentConfig) =>
            abortable(model.invoke(messages, agentConfig), signal),
          );
          tokensUsed += (answer.raw as AIMessage).usage_metadata?.total_tokens ?? 0;
          if (!answer.parsed) throw new Error("the model's answer did not match the findings schema");
          findings = answer.parsed;
        }
        error = undefined;
      } catch (caught) {
        if (config.signal?.aborted) throw caught;
        if (deadline.expired) {
          error = {
            kind: "AgentTimeoutError",
            message: `timed out after ${specification.timeoutSeconds} s (attempt ${attempt})`,
          };
          break;
        }
        error = {
          kind: "AgentRunError",
          message: `attempt ${attempt} of ${(sources ? 0 : specification.retryAttempts) + 1}: ${messageOf(caught)}`,
        };
      }
    }
  } finally {
    deadline.clear();
  }

  const seconds = (performance.now() - started) / 1000;
  const quality = findings ? dataQualityScore(findings) : 0;
  const reserved = specification.resourceRequirements;
  return {
    agentId: input.agentId,
    agentType: specification.agentType,
    capabilities: specification.capabilities,
    status: findings ? "success" : "failed",
    ...(findings ? { results: findings } : {}),
    ...(error ? { error } : {}),
    ...(error?.kind === "AgentTimeoutError" ? { timedOut: true } : {}),
    attempt,
    modelCalls: attempt,
    performance: {
      executionTime: round(seconds),
      resourceUtilization: reserved.tokens > 0 ? round(Math.min(1, tokensUsed / reserved.tokens)) : 0,
      dataQualityScore: quality,
      throughput: seconds > 0 && findings ? round(findings.findings.length / seconds) : 0,
      ...(toolCalls !== undefined ? { toolCalls } : {}),
    },
    resources: { reserved, tokensUsed },
    meetsQualityThreshold: findings !== undefined && quality >= (specification.qualityThresholds.dataQuality ?? 0),
    startedAt,
    completedAt: now(),
  };
}

/** What monitoring records of an agent's run: when it started, how long it took, how it failed. */
export function agentMonitoring(result: AgentResult): NonNullable<AgentOutcome["monitoring"]> {
  return {
    startedAt: result.startedAt,
    seconds: result.performance.executionTime,
    error: result.error ? `${result.error.kind}: ${result.error.message}` : null,
  };
}

/**
 * Runs the agent once its template has a free slot (maxConcurrentTasks), records its outcome in the statistics, and gives back its allocation. The
 * caller writes the result and the release in one update: LangGraph saves a task's writes
 * together, so an agent that finished has released exactly once, and one cut off by a crash has
 * done neither and runs again on resume.
 */
export async function runAndRecord(
  input: AgentTaskInput,
  config: LangGraphRunnableConfig,
  stats: AgentStatsStore,
): Promise<{ result: AgentResult; release: LedgerEntry }> {
  const threadId = String(config.configurable?.thread_id ?? "");
  const { specification } = input;
  const result = await withinConcurrencyLimit(
    concurrencyKey(threadId, specification.agentType),
    specification.maxConcurrentTasks,
    config.signal,
    () => runAgent(input, config),
  );
  await stats.recordOutcome({
    agentId: input.agentId,
    threadId,
    agentType: result.agentType,
    status: result.status,
    quality: result.status === "success" ? result.performance.dataQualityScore : null,
    ...(specification.monitoringEnabled ? { monitoring: agentMonitoring(result) } : {}),
  });
  return { result, release: releaseOf(input.allocation) };
}

export function dynamicAgentNode(stats: AgentStatsStore) {
  return async function dynamicAgent(
    input: AgentTaskInput,
    config: LangGraphRunnableConfig,
  ): Promise<DynamicAgentsUpdate> {
    const { result, release } = await runAndRecord(input, config, stats);
    return { agentResults: { [input.agentId]: result }, resourceLedger: [release] };
  };
}
