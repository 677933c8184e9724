import { Command, Send, type LangGraphRunnableConfig } from "@langchain/langgraph";
import type { Task } from "../../state/parallel_workflow/input.js";
import { emitPhase } from "../../state/parallel_workflow/progress.js";
import {
  BRANCH_NODES,
  branchNodeFor,
  currentResult,
  settingsOf,
  type BranchAllocation,
  type BranchInput,
  type WorkflowStateType,
} from "../../state/parallel_workflow/workflow.js";
import { now } from "../../state/shared/time.js";
import { hasSources, SourcesSettingsSchema } from "../../state/shared/sources.js";

/** Branches whose current attempt has no result yet, in plan order. */
export function pendingBranches(state: Pick<WorkflowStateType, "activeBranches" | "completedBranches">) {
  return Object.values(state.activeBranches)
    .filter((allocation) => !currentResult(state, allocation.branchId))
    .sort((a, b) => a.order - b.order);
}

/**
 * The next wave: at most the allocated number of pending branches whose dependencies
 * all have a result. Sequential mode is a wave of one.
 */
export function planWave(
  state: Pick<
    WorkflowStateType,
    "activeBranches" | "completedBranches" | "branchDependencies" | "workflowMode" | "waveWidth"
  >,
): BranchAllocation[] {
  const width = state.workflowMode === "sequential" ? 1 : Math.max(1, state.waveWidth);
  const ready = pendingBranches(state).filter((allocation) =>
    (state.branchDependencies[allocation.branchId] ?? []).every((dep) => currentResult(state, dep)),
  );
  return ready.slice(0, width);
}

/** Summaries of the branches that succeeded before this one in plan order. */
function priorResults(state: WorkflowStateType, allocation: BranchAllocation): BranchInput["priorResults"] {
  return (state.branchDependencies[allocation.branchId] ?? []).flatMap((dep) => {
    const result = currentResult(state, dep);
    return result?.status === "success" && result.results ? [{ branchId: dep, summary: result.results.summary }] : [];
  });
}

/** The tasks a branch works on: its own, or the whole queue if the plan names none that exists. */
function tasksFor(allocation: BranchAllocation, taskQueue: Task[]): Task[] {
  const own = allocation.task ? taskQueue[allocation.task - 1] : undefined;
  return own ? [own] : taskQueue;
}

/**
 * Fans the next wave out with Send, returned through Command({ goto }) with `ends`
 * declared (docs/design.md).
 */
export async function parallelCoordinator(state: WorkflowStateType, config: LangGraphRunnableConfig = {}) {
  emitPhase(config, "parallel_coordinator");
  const wave = planWave(state);
  if (wave.length === 0) {
    // sync_point_manager only routes here while branches are pending, and load_balancer
    // only after re-queueing one: an empty wave is a bug, not a state to recover from.
    throw new Error("parallel_coordinator: no branch is ready to dispatch");
  }
  const waveNumber = state.wavesDispatched + 1;
  const settings = settingsOf(state);
  // Only the source keys travel: each Send is saved with the step's writes.
  const sources = hasSources(settings) ? { sources: SourcesSettingsSchema.parse(settings) } : {};
  const inputs = wave.map(
    (allocation): BranchInput => ({
      branchId: allocation.branchId,
      model: settings.model,
      allocation,
      taskQueue: tasksFor(allocation, state.taskQueue),
      priorResults: priorResults(state, allocation),
      ...sources,
    }),
  );
  return new Command({
    goto: inputs.map((input) => new Send(branchNodeFor(input.allocation), input)),
    update: {
      wavesDispatched: waveNumber,
      checkpointData: { waves: waveNumber },
      executionTimeline: [
        {
          at: now(),
          event: "wave_dispatched",
          node: "parallel_coordinator",
          wave: waveNumber,
          branches: inputs.map(({ allocation, priorResults }) => ({
            branchId: allocation.branchId,
            node: branchNodeFor(allocation),
            attempt: allocation.attempt,
            priorResults: priorResults.length,
          })),
        },
      ],
    },
  });
}

export const PARALLEL_COORDINATOR_ENDS = [...BRANCH_NODES];
