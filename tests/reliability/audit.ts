import { BaseCheckpointSaver } from "@langchain/langgraph-checkpoint";
import type pg from "pg";
import { expect } from "vitest";
import type { compileWorkflow } from "../../graphs/parallel_workflow.js";
import type { CallLogEntry } from "../../models/offline/model.js";
import type { BranchResult, WorkflowStateType } from "../../state/parallel_workflow/workflow.js";
import { callsPerNode, readCallLog } from "../support/calls.js";
import { runCli } from "../support/cli.js";
import { approximately, comparableState } from "./comparable.js";
import type { Figures } from "./tally.js";

export interface SavedAtFault {
  tasks: Set<string>;
  branches: Record<string, BranchResult>;
}

export type Reference = Awaited<ReturnType<ThreadAudit["reference"]>>;

/** What a fault left saved of a thread, and what the run after it did with that: the suite's figures. */
export class ThreadAudit {
  constructor(
    private readonly client: pg.Client,
    private readonly schema: string,
    private readonly workflow: ReturnType<typeof compileWorkflow>,
  ) {}

  /**
   * What the faulted runs must end up matching: a run of `task` with nothing injected, its state
   * as comparableState gives it (numbers to two decimals), and its model calls per node.
   */
  async reference(task: string, threadId: string, env: NodeJS.ProcessEnv, log: string) {
    const run = await runCli(["run", task, "--thread", threadId, "--review", "never", "--json"], {
      ...env,
      ORCHESTRA_OFFLINE_CALL_LOG: log,
    });
    if (run.code !== 0) throw new Error(`the reference run failed:\n${run.stderr}`);
    return {
      state: approximately(comparableState((await this.state(threadId)).values as WorkflowStateType)),
      calls: callsPerNode(await readCallLog(log)),
    };
  }

  state(threadId: string) {
    return this.workflow.getState({ configurable: { thread_id: threadId } });
  }

  /** Tasks whose writes LangGraph saved: a resume must not run these again. */
  async savedTasks(threadId: string): Promise<Set<string>> {
    const { rows } = await this.client.query<{ task_id: string }>(
      `SELECT DISTINCT task_id FROM "${this.schema}".checkpoint_writes WHERE thread_id = $1 AND channel <> '__error__'`,
      [threadId],
    );
    return new Set(rows.map((row) => row.task_id));
  }

  /**
   * Branch results saved so far: in the latest checkpoint, as writes of its running step, or as
   * writes against a checkpoint that was never saved (a step that ran ahead of its parent's save,
   * which only a durability other than "sync" allows): those are saved results a resume cannot see.
   */
  async savedBranchResults(threadId: string): Promise<Record<string, BranchResult>> {
    const snapshot = await this.state(threadId);
    const pending = snapshot.tasks.map(
      (t) => (t.result as Partial<WorkflowStateType> | undefined)?.completedBranches ?? {},
    );
    return Object.assign(
      {},
      (snapshot.values as Partial<WorkflowStateType>).completedBranches ?? {},
      ...pending,
      ...(await this.orphanedBranchWrites(threadId)),
    );
  }

  private async orphanedBranchWrites(threadId: string): Promise<Record<string, BranchResult>[]> {
    const saver = this.workflow.checkpointer;
    if (!(saver instanceof BaseCheckpointSaver)) throw new Error("the audited workflow has no checkpointer");
    const s = `"${this.schema}"`;
    const { rows } = await this.client.query<{ type: string; blob: Buffer }>(
      `SELECT w.type, w.blob FROM ${s}.checkpoint_writes w WHERE w.thread_id = $1 AND w.channel = 'completedBranches'
         AND NOT EXISTS (SELECT 1 FROM ${s}.checkpoints c WHERE c.thread_id = w.thread_id
           AND c.checkpoint_ns = w.checkpoint_ns AND c.checkpoint_id = w.checkpoint_id)
       ORDER BY w.checkpoint_id, w.task_id, w.idx`,
      [threadId],
    );
    return Promise.all(
      rows.map((row) => saver.serde.loadsTyped(row.type, row.blob) as Promise<Record<string, BranchResult>>),
    );
  }

  /** What a fault left saved: the tasks a resume must not run again, the results it must keep. */
  async saved(threadId: string): Promise<SavedAtFault> {
    return { tasks: await this.savedTasks(threadId), branches: await this.savedBranchResults(threadId) };
  }

  /**
   * Checks a thread the run after a fault completed: it ran no saved task again, kept every saved
   * result, and left intact checkpoints; given a reference, its final state and its model calls
   * (plus the ones the fault cut off) match an uninterrupted run's. The lost results and needless
   * calls go into `figures` before anything is asserted, so a failure still reports them.
   */
  async checkRecovery(
    threadId: string,
    log: string,
    faulted: { pid: number | undefined; saved: SavedAtFault },
    figures: Figures,
    reference?: Reference,
  ): Promise<void> {
    const calls = await readCallLog(log);
    const needless = needlessCalls(calls, faulted.pid, faulted.saved.tasks);
    const final = (await this.state(threadId)).values as WorkflowStateType;
    const lost = lostResults(faulted.saved.branches, final);
    figures.lost = lost.length;
    figures.needless = needless.length;
    expect(lost).toEqual([]);
    expect(needless).toEqual([]);
    if (reference) {
      expect(callsPerNode(calls)).toEqual(
        addCounts(reference.calls, cutOffCalls(calls, faulted.pid, faulted.saved.tasks)),
      );
      expect(comparableState(final)).toEqual(reference.state);
    }
    expect(await this.integrityProblems(threadId)).toEqual([]);
  }

  /**
   * Problems in the thread's checkpoints: a checkpoint whose parent is missing, a channel version
   * with no blob, writes against a checkpoint that was never saved, or history that fails to load.
   */
  async integrityProblems(threadId: string): Promise<string[]> {
    const problems: string[] = [];
    const s = `"${this.schema}"`;
    const check = async (what: string, sql: string) => {
      const { rows } = await this.client.query<{ n: number }>(sql, [threadId]);
      if (rows[0]!.n > 0) problems.push(`${rows[0]!.n} ${what}`);
    };
    await check(
      "checkpoints with a missing parent",
      `SELECT count(*)::int AS n FROM ${s}.checkpoints c WHERE c.thread_id = $1 AND c.parent_checkpoint_id IS NOT NULL
         AND NOT EXISTS (SELECT 1 FROM ${s}.checkpoints p WHERE p.thread_id = c.thread_id
           AND p.checkpoint_ns = c.checkpoint_ns AND p.checkpoint_id = c.parent_checkpoint_id)`,
    );
    await check(
      "channel versions without a blob",
      `SELECT count(*)::int AS n FROM ${s}.checkpoints c, jsonb_each_text(c.checkpoint -> 'channel_versions') v
         WHERE c.thread_id = $1 AND NOT EXISTS (SELECT 1 FROM ${s}.checkpoint_blobs b WHERE b.thread_id = c.thread_id
           AND b.checkpoint_ns = c.checkpoint_ns AND b.channel = v.key AND b.version = v.value)`,
    );
    await check(
      "writes against a checkpoint that was never saved",
      `SELECT count(*)::int AS n FROM ${s}.checkpoint_writes w WHERE w.thread_id = $1
         AND NOT EXISTS (SELECT 1 FROM ${s}.checkpoints c WHERE c.thread_id = w.thread_id
           AND c.checkpoint_ns = w.checkpoint_ns AND c.checkpoint_id = w.checkpoint_id)`,
    );
    try {
      let steps = 0;
      for await (const snapshot of this.workflow.getStateHistory({ configurable: { thread_id: threadId } })) {
        if (!snapshot.values) problems.push(`checkpoint ${snapshot.config.configurable?.checkpoint_id} has no values`);
        steps += 1;
      }
      if (steps === 0) problems.push("no checkpoints");
    } catch (error) {
      problems.push(`history does not load: ${(error as Error).message}`);
    }
    return problems;
  }
}

/**
 * Calls by the process that ran after the fault for tasks saved before it: work needlessly done
 * again. `before` is the pid of the process that met the fault.
 */
function needlessCalls(calls: CallLogEntry[], before: number | undefined, saved: Set<string>): CallLogEntry[] {
  return calls.filter((c) => c.pid !== before && c.task !== null && saved.has(c.task));
}

/** Calls the fault cut off: made before it, for tasks it left unsaved; the resume makes them again. */
function cutOffCalls(calls: CallLogEntry[], before: number | undefined, saved: Set<string>): Record<string, number> {
  return callsPerNode(calls.filter((c) => c.pid === before && c.task !== null && !saved.has(c.task)));
}

/** Saved branch results that the final state lacks or replaced. */
function lostResults(saved: Record<string, BranchResult>, final: WorkflowStateType): BranchResult[] {
  return Object.values(saved).filter((r) => final.completedBranches[r.branchId]?.completedAt !== r.completedAt);
}

function addCounts(a: Record<string, number>, b: Record<string, number>): Record<string, number> {
  const sum = { ...a };
  for (const [node, n] of Object.entries(b)) sum[node] = (sum[node] ?? 0) + n;
  return sum;
}
