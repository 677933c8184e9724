import { HumanMessage, SystemMessage } from "@langchain/core/messages";
import type { LangGraphRunnableConfig } from "@langchain/langgraph";
import { abortable, Deadline } from "../../models/deadline.js";
import { createChatModel } from "../../models/index.js";
import { BRANCH_FINDINGS, BranchFindingsSchema, type BranchFindings } from "../../state/shared/findings.js";
import { dataQualityScore, round } from "../shared/findings.js";
import { researchSources } from "../shared/sources/sourced_research.js";
import { emitProgress } from "../../state/parallel_workflow/progress.js";
import type {
  BranchInput,
  BranchNodeName,
  BranchPerformance,
  BranchResult,
  WorkflowUpdate,
} from "../../state/parallel_workflow/workflow.js";
import { now } from "../../state/shared/time.js";
import { branchPrompt, branchSourcesBrief } from "./prompts.js";

/** What makes one branch node different from another: its role in the prompt. */
export interface BranchSpecialisation {
  node: BranchNodeName;
  role: string;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => (clearTimeout(timer), reject(signal.reason)), { once: true });
  });
}

/**
 * The branch's findings: with sources, what its tool loop read and cited; without, one
 * structured model call. Either way under the branch's signal, so its timeout cuts both off.
 */
async function branchFindings(
  specialisation: BranchSpecialisation,
  input: BranchInput,
  config: LangGraphRunnableConfig,
  signal: AbortSignal,
): Promise<{ findings: BranchFindings; toolCalls?: number }> {
  if (input.sources) {
    const brief = branchSourcesBrief(specialisation.role, input);
    return abortable(
      researchSources(createChatModel(input.model), input.sources, brief, { ...config, signal }),
      signal,
    );
  }
  const prompt = branchPrompt(input);
  const model = createChatModel(input.model).withStructuredOutput(BranchFindingsSchema, { name: BRANCH_FINDINGS });
  const findings = await abortable(
    model.invoke([new SystemMessage(specialisation.role), new HumanMessage(prompt)], { ...config, signal }),
    signal,
  );
  return { findings };
}

/**
 * The work every branch node does: its findings under the branch's timeout, measured,
 * and recorded as success or failure for this branch only.
 */
export async function runBranch(
  specialisation: BranchSpecialisation,
  input: BranchInput,
  config: LangGraphRunnableConfig,
): Promise<WorkflowUpdate> {
  const { allocation } = input;
  emitProgress(config, {
    type: "branch_started",
    branchId: input.branchId,
    node: specialisation.node,
    attempt: allocation.attempt,
    at: now(),
  });
  // The backoff is waiting, not work: it must not eat into the branch's timeout.
  if (allocation.backoffMs > 0) await sleep(allocation.backoffMs, config.signal);
  const deadline = new Deadline(allocation.resources.timeoutMs, config.signal);
  const { signal } = deadline;
  const startedAt = performance.now();
  const cpuBefore = process.cpuUsage();
  let modelCalls = 0;

  const base = {
    branchId: input.branchId,
    node: specialisation.node,
    type: allocation.type,
    ...(allocation.focus ? { focus: allocation.focus } : {}),
    ...(allocation.analysisType ? { analysisType: allocation.analysisType } : {}),
    priority: allocation.priority,
    attempt: allocation.attempt,
  };

  let result: BranchResult;
  try {
    modelCalls += 1;
    const { findings, toolCalls } = await branchFindings(specialisation, input, config, signal);
    const seconds = (performance.now() - startedAt) / 1000;
    result = {
      ...base,
      status: "success",
      results: findings,
      performance: {
        ...measure(seconds, cpuBefore, dataQualityScore(findings), findings.findings.length),
        ...(toolCalls !== undefined ? { toolCalls } : {}),
      },
      modelCalls,
      completedAt: now(),
    };
  } catch (error) {
    // A cancelled run is not a branch failure: let LangGraph stop the run.
    if (config.signal?.aborted) throw error;
    const timedOut = deadline.expired;
    const seconds = (performance.now() - startedAt) / 1000;
    result = {
      ...base,
      status: "failed",
      error: timedOut
        ? `timed out after ${allocation.resources.timeoutMs} ms`
        : error instanceof Error
          ? error.message
          : String(error),
      ...(timedOut ? { timedOut } : {}),
      performance: measure(seconds, cpuBefore, 0, 0),
      modelCalls,
      completedAt: now(),
    };
  } finally {
    deadline.clear();
  }

  emitProgress(config, {
    type: "branch_finished",
    branchId: input.branchId,
    node: specialisation.node,
    attempt: allocation.attempt,
    status: result.status,
    seconds: result.performance.executionTime,
    quality: result.performance.dataQualityScore,
    ...(result.error ? { error: result.error } : {}),
    at: result.completedAt,
  });
  const outcome = {
    at: result.completedAt,
    node: specialisation.node,
    branchId: input.branchId,
    attempt: allocation.attempt,
    seconds: result.performance.executionTime,
  };
  return {
    completedBranches: { [input.branchId]: result },
    executionTimeline: [
      result.status === "success"
        ? { ...outcome, event: "branch_completed", dataQualityScore: result.performance.dataQualityScore }
        : { ...outcome, event: "branch_failed", error: result.error ?? "failed" },
    ],
  };
}

function measure(seconds: number, cpuBefore: NodeJS.CpuUsage, quality: number, findings: number): BranchPerformance {
  const cpu = process.cpuUsage(cpuBefore);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  return {
    executionTime: round(seconds),
    resourceUtilization: seconds > 0 ? round(Math.min(1, cpuSeconds / seconds)) : 0,
    dataQualityScore: quality,
    throughput: seconds > 0 ? round(findings / seconds) : 0,
  };
}
