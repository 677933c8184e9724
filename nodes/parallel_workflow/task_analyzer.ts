import os from "node:os";
import { randomUUID } from "node:crypto";
import { AIMessage, HumanMessage, SystemMessage } from "@langchain/core/messages";
import type { LangGraphRunnableConfig } from "@langchain/langgraph";
import { ensureConfiguration, type Settings } from "../../state/parallel_workflow/configuration.js";
import { parseWorkflowInput, type Task } from "../../state/parallel_workflow/input.js";
import {
  TASK_ANALYSIS,
  TaskAnalysisSchema,
  type PlannedBranch,
  type TaskAnalysis,
} from "../../state/parallel_workflow/outputs.js";
import type {
  BranchAllocation,
  WorkflowMode,
  WorkflowStateType,
  WorkflowUpdate,
} from "../../state/parallel_workflow/workflow.js";
import { now } from "../../state/shared/time.js";
import { callWithDeadline } from "../../models/deadline.js";
import { createChatModel } from "../../models/index.js";
import { emitPhase } from "../../state/parallel_workflow/progress.js";
import { TASK_ANALYZER_SYSTEM_PROMPT, taskAnalysisPrompt } from "./prompts.js";

export const SYNC_POINT = "pre_merge";

export interface ResourceAvailability {
  /** CPU headroom, 0..1: the share of the machine's cores not busy over the last minute. */
  cpu: number;
  maxConcurrent: number;
}

export function assessResourceAvailability(settings: Pick<Settings, "maxConcurrency">): ResourceAvailability {
  const cores = os.availableParallelism();
  const busy = os.loadavg()[0]! / cores;
  return { cpu: Math.min(1, Math.max(0, 1 - busy)), maxConcurrent: settings.maxConcurrency };
}

/**
 * The workflow mode and how many branches run at once: docs/design.md (Mode), with why
 * parallel mode runs as many as the concurrency limit allows.
 */
export function chooseWorkflowMode(
  complexityScore: number,
  interdependencyScore: number,
  resources: ResourceAvailability,
): { mode: WorkflowMode; maxBranches: number } {
  if (complexityScore > 0.8 && resources.cpu > 0.7) {
    return { mode: "parallel", maxBranches: resources.maxConcurrent };
  }
  if (interdependencyScore > 0.6) return { mode: "sequential", maxBranches: 1 };
  // Adaptive runs 3 at once; the concurrency limit still caps it.
  return { mode: "adaptive", maxBranches: Math.min(3, resources.maxConcurrent) };
}

function branchId(index: number, branch: PlannedBranch): string {
  const kind = branch.type === "research" ? (branch.focus ?? "competitive") : `${branch.priority ?? "normal"}`;
  return `b${index + 1}-${branch.type}-${kind}`;
}

/**
 * Turns the model's plan into allocations: ids, resources and timeouts. In sequential
 * mode each branch depends on every branch before it, so it can build on their results.
 */
export function createBranchAllocation(
  plan: PlannedBranch[],
  maxBranches: number,
  mode: WorkflowMode,
  settings: Pick<Settings, "branchTimeoutMs">,
  resources: ResourceAvailability,
) {
  const activeBranches: Record<string, BranchAllocation> = {};
  const branchDependencies: Record<string, string[]> = {};
  const ids: string[] = [];
  plan.forEach((branch, index) => {
    const id = branchId(index, branch);
    const priority = branch.type === "analysis" ? (branch.priority ?? "normal") : "normal";
    activeBranches[id] = {
      branchId: id,
      order: index,
      type: branch.type,
      objective: branch.objective,
      ...(branch.type === "research" ? { focus: branch.focus ?? "competitive" } : {}),
      ...(branch.type === "analysis" ? { analysisType: branch.analysisType ?? "general" } : {}),
      priority,
      dataSources: branch.type === "analysis" ? (branch.dataSources ?? []) : [],
      resources: {
        cpuShare: Number((resources.cpu / maxBranches).toFixed(3)),
        timeoutMs: settings.branchTimeoutMs,
        maxFindings: 4,
      },
      attempt: 1,
      scope: "full",
      backoffMs: 0,
      ...(branch.task ? { task: branch.task } : {}),
    };
    branchDependencies[id] = mode === "sequential" ? [...ids] : [];
    ids.push(id);
  });
  return { activeBranches, branchDependencies, syncPoints: { [SYNC_POINT]: ids } };
}

/** Tasks that state their own complexity outrank the model's estimate of it. */
function statedComplexity(tasks: Task[]): number | undefined {
  const stated = tasks.map((t) => t.complexity).filter((c): c is number => c !== undefined);
  return stated.length === tasks.length ? stated.reduce((a, b) => a + b, 0) / stated.length : undefined;
}

export async function taskAnalyzer(state: WorkflowStateType, config: LangGraphRunnableConfig): Promise<WorkflowUpdate> {
  emitPhase(config, "task_analyzer");
  // The CLI puts the settings into the input, so a crash before this node finishes
  // still resumes under them; the server and Studio pass them in configurable or context.
  const settings = ensureConfiguration(state.settings ? { configurable: state.settings } : config);
  const taskQueue = parseWorkflowInput({
    ...(state.task !== undefined ? { task: state.task } : {}),
    ...(state.taskQueue.length ? { taskQueue: state.taskQueue } : {}),
  });

  const model = createChatModel(settings.model).withStructuredOutput(TaskAnalysisSchema, { name: TASK_ANALYSIS });
  const analysis: TaskAnalysis = await callWithDeadline("task_analyzer", settings.branchTimeoutMs, config, (config) =>
    model.invoke(
      [new SystemMessage(TASK_ANALYZER_SYSTEM_PROMPT), new HumanMessage(taskAnalysisPrompt(taskQueue))],
      config,
    ),
  );

  const complexityScore = statedComplexity(taskQueue) ?? analysis.complexityScore;
  const resources = assessResourceAvailability(settings);
  const { mode, maxBranches } = chooseWorkflowMode(complexityScore, analysis.interdependencyScore, resources);
  const allocation = createBranchAllocation(analysis.branchPlan, maxBranches, mode, settings, resources);
  const workflowId = (config.configurable?.thread_id as string | undefined) ?? randomUUID();

  return {
    taskQueue,
    settings,
    workflowId,
    workflowMode: mode,
    waveWidth: maxBranches,
    ...allocation,
    loadBalancingMetrics: {
      complexityScore,
      interdependencyScore: analysis.interdependencyScore,
      resourceUtilization: 1 - resources.cpu,
      cpuHeadroom: resources.cpu,
      allocatedBranches: maxBranches,
      plannedBranches: analysis.branchPlan.length,
    },
    monitoringMetrics: { startedAt: now(), model: settings.model },
    status: "running",
    messages: [
      new HumanMessage(taskQueue.map((t) => t.description).join("\n")),
      new AIMessage(
        `Plan: ${analysis.branchPlan.length} branches in ${mode} mode, ${maxBranches} at a time. ${analysis.rationale}`,
      ),
    ],
    executionTimeline: [
      {
        at: now(),
        event: "task_analysis_completed",
        node: "task_analyzer",
        workflowMode: mode,
        branchesAllocated: maxBranches,
        branchesPlanned: analysis.branchPlan.length,
        complexityScore,
        interdependencyScore: analysis.interdependencyScore,
        cpuHeadroom: resources.cpu,
      },
    ],
  };
}
