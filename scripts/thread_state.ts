import type { RunnableConfig } from "@langchain/core/runnables";
import type { StateSnapshot } from "@langchain/langgraph";
import { InputError } from "../state/shared/errors.js";
import { checkThreadId } from "../state/shared/thread_id.js";

/** Reading any workflow's thread from its compiled graph: the state, and the checkpoints as `history` lists them. */

export const threadConfig = (threadId: string) => ({ configurable: { thread_id: checkThreadId(threadId) } });

/** What reading a thread's state needs of a compiled graph: any workflow's. */
export interface StateReader {
  getState(config: RunnableConfig): Promise<StateSnapshot>;
  getStateHistory(config: RunnableConfig): AsyncIterableIterator<StateSnapshot>;
}

export async function existingSnapshot(workflow: StateReader, threadId: string): Promise<StateSnapshot> {
  const snapshot = await workflow.getState(threadConfig(threadId));
  if (!snapshot.createdAt) {
    throw new InputError(`no thread ${threadId} in the checkpointer: check the id ('orchestra threads' lists them)`);
  }
  return snapshot;
}

export interface HistoryEntry {
  checkpointId: string;
  parentId: string | null;
  step: number;
  source: string;
  createdAt: string;
  /** The nodes whose writes this checkpoint saved. */
  nodes: string[];
  /** The branches whose results this checkpoint saved. */
  branches: string[];
  /** What runs from here. */
  next: string[];
  /** False for checkpoints a replay forked away from: they stay, but the thread's head no longer descends from them. */
  onHeadBranch: boolean;
  /**
   * Why this checkpoint is a good one to replay from: "review", a review point runs next (a
   * replay asks again, under the replay's review mode); "wave", a wave of branches runs next.
   */
  replayPoint: "review" | "wave" | null;
}

/** What history needs to know of a workflow: its branch nodes (whose results it names) and review points (good replay points). */
export interface HistoryFacts {
  branchNodes: readonly string[];
  reviewPoints: readonly string[];
}

/** Every checkpoint of a thread, oldest first, with what wrote it. */
export async function threadHistory(
  workflow: StateReader,
  threadId: string,
  facts: HistoryFacts,
): Promise<HistoryEntry[]> {
  const isBranchNode = (name: string) => facts.branchNodes.includes(name);
  await existingSnapshot(workflow, threadId);
  const snapshots: StateSnapshot[] = [];
  for await (const snapshot of workflow.getStateHistory(threadConfig(threadId))) snapshots.push(snapshot);
  const byId = new Map(snapshots.map((s) => [idOf(s.config)!, s]));
  const head = new Set<string>();
  for (let s: StateSnapshot | undefined = snapshots[0]; s; s = byId.get(idOf(s.parentConfig) ?? ""))
    head.add(idOf(s.config)!);

  return snapshots.reverse().map((snapshot) => {
    const id = idOf(snapshot.config)!;
    const parentId = idOf(snapshot.parentConfig) ?? null;
    const parent = parentId ? byId.get(parentId) : undefined;
    const source = String(snapshot.metadata?.source ?? "");
    // A loop step saves what all its parent's tasks wrote (one that paused for review wrote once
    // resumed); an update, a fork or the input wrote it themselves.
    const ran = source === "loop" && parent ? parent.tasks : [];
    const branches = ran.filter((t) => isBranchNode(t.name)).flatMap((t) => Object.keys(completedBranchesOf(t.result)));
    return {
      checkpointId: id,
      parentId,
      step: Number(snapshot.metadata?.step ?? 0),
      source,
      createdAt: snapshot.createdAt ?? "",
      nodes: [...new Set(ran.map((t) => t.name))],
      branches,
      next: [...snapshot.next],
      onHeadBranch: head.has(id),
      replayPoint: snapshot.next.some((n) => facts.reviewPoints.includes(n))
        ? "review"
        : snapshot.next.some(isBranchNode)
          ? "wave"
          : null,
    };
  });
}

/** The branch results a branch task wrote, by branch id. */
function completedBranchesOf(result: unknown): Record<string, unknown> {
  const written =
    result !== null && typeof result === "object" && "completedBranches" in result
      ? result.completedBranches
      : undefined;
  return written !== null && typeof written === "object" ? { ...written } : {};
}

const idOf = (config: { configurable?: Record<string, unknown> } | undefined) =>
  config?.configurable?.checkpoint_id as string | undefined;
