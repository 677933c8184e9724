import type pg from "pg";
import { threadLockKey } from "../checkpoints/thread_lock.js";
import type { RunBus } from "./bus.js";

export const RUN_STATUSES = ["pending", "running", "success", "error", "timeout", "interrupted"] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];
export const ACTIVE_STATUSES: readonly RunStatus[] = ["pending", "running"];
export type CancelAction = "interrupt" | "rollback";
export type MultitaskStrategy = "reject" | "interrupt" | "rollback" | "enqueue";

export interface RunKwargs {
  input?: unknown;
  command?: { resume?: unknown; update?: unknown; goto?: unknown };
  config: { configurable?: Record<string, unknown>; metadata?: Record<string, unknown>; tags?: string[]; recursion_limit?: number };
  context?: unknown;
  stream_mode: string[];
  interrupt_before?: string[] | "*";
  interrupt_after?: string[] | "*";
  checkpoint_id?: string;
  subgraphs?: boolean;
}

export interface RunRow {
  run_id: string;
  thread_id: string;
  assistant_id: string;
  graph_id: string;
  status: RunStatus;
  kwargs: RunKwargs;
  metadata: Record<string, unknown>;
  multitask_strategy: MultitaskStrategy;
  temporary: boolean;
  attempt: number;
  cancel: CancelAction | null;
  head_checkpoint: string | null;
  /** [task_id, idx] of the writes saved at the run's starting checkpoint before it ran. */
  start_writes: [string, number][] | null;
  created_at: Date;
  updated_at: Date;
}

/** How many of the oldest runnable threads one claim looks at. */
const CLAIM_CANDIDATES = 32;

/**
 * The runs table as a job queue. A worker owns a run while its session holds the run's thread
 * advisory lock: Postgres drops the lock with the session when the worker dies (SIGKILL closes
 * its socket), so a `running` run whose thread lock is free has lost its worker and is claimed
 * again, attempt + 1, and resumes from its last checkpoint. The lock also serialises the runs of
 * a thread (only the oldest active run of each thread is a candidate) and keeps a server run and
 * a CLI run of one thread apart.
 */
export class RunQueue {
  constructor(
    private readonly pool: pg.Pool,
    private readonly schema: string,
    private readonly bus: RunBus,
    readonly workerId: string,
  ) {}

  private get runs() {
    return `"${this.schema}".runs`;
  }

  /**
   * Claims the next runnable run on `session`, leaving that session holding its thread lock;
   * undefined when there is none. A claimed run that was cancelled while it had no worker ends
   * `interrupted` here instead.
   */
  async claim(session: pg.PoolClient, skip: ReadonlySet<string>): Promise<RunRow | undefined> {
    const { rows: candidates } = await session.query<{ run_id: string; thread_id: string }>(
      // Pending runs first: the running ones are candidates only in case their worker died, and
      // the oldest CLAIM_CANDIDATES of them would otherwise hide every run queued after them.
      `SELECT run_id, thread_id FROM (
         SELECT DISTINCT ON (thread_id) run_id, thread_id, status, created_at FROM ${this.runs}
         WHERE status IN ('pending', 'running') ORDER BY thread_id, created_at) oldest
       ORDER BY status = 'running', created_at LIMIT ${CLAIM_CANDIDATES}`,
    );
    for (const { run_id, thread_id } of candidates) {
      if (skip.has(run_id)) continue;
      const { rows: locked } = await session.query<{ locked: boolean }>(
        "SELECT pg_try_advisory_lock(hashtext($1)) AS locked",
        [threadLockKey(this.schema, thread_id)],
      );
      if (!locked[0]!.locked) continue;
      const head = `SELECT max(checkpoint_id) FROM "${this.schema}".checkpoints WHERE thread_id = $3 AND checkpoint_ns = ''`;
      // Read again under the lock: the run may have ended, or its worker finished it, since.
      const { rows } = await session.query<RunRow>(
        `UPDATE ${this.runs} SET
           status = CASE WHEN cancel IS NULL THEN 'running' ELSE 'interrupted' END,
           attempt = attempt + 1, worker = $2, updated_at = clock_timestamp(),
           head_checkpoint = CASE WHEN attempt = 0 THEN (${head}) ELSE head_checkpoint END,
           start_writes = CASE WHEN attempt = 0 THEN (
             SELECT coalesce(jsonb_agg(jsonb_build_array(task_id, idx)), '[]') FROM "${this.schema}".checkpoint_writes
             WHERE thread_id = $3 AND checkpoint_ns = '' AND checkpoint_id = coalesce(kwargs->>'checkpoint_id', (${head}))
           ) ELSE start_writes END
         WHERE run_id = $1 AND status IN ('pending', 'running')
           AND created_at = (SELECT min(created_at) FROM ${this.runs} WHERE thread_id = $3 AND status IN ('pending', 'running'))
         RETURNING *`,
        [run_id, this.workerId, thread_id],
      );
      const run = rows[0];
      if (run?.status === "running") return run;
      if (run) await this.bus.notify("done", run.run_id);
      await this.unlockThread(session, thread_id);
    }
    return undefined;
  }

  /** Records how the run ended; only while this worker still owns it. */
  async finish(runId: string, status: RunStatus): Promise<void> {
    await this.pool.query(
      `UPDATE ${this.runs} SET status = $2, worker = NULL, updated_at = clock_timestamp() WHERE run_id = $1 AND worker = $3`,
      [runId, status, this.workerId],
    );
    await this.bus.notify("done", runId);
  }

  /** Gives a run back unfinished (graceful shutdown): another worker resumes it from its last checkpoint. */
  async release(runId: string): Promise<void> {
    await this.pool.query(
      `UPDATE ${this.runs} SET status = 'pending', worker = NULL, updated_at = clock_timestamp() WHERE run_id = $1 AND worker = $2`,
      [runId, this.workerId],
    );
    await this.bus.notify("queued", runId);
  }

  /** Lets go of the thread a claim locked on `session`. */
  async unlockThread(session: pg.PoolClient, threadId: string): Promise<void> {
    await session.query("SELECT pg_advisory_unlock(hashtext($1))", [threadLockKey(this.schema, threadId)]);
  }

  async cancelRequested(runId: string): Promise<CancelAction | null> {
    const { rows } = await this.pool.query<{ cancel: CancelAction | null }>(`SELECT cancel FROM ${this.runs} WHERE run_id = $1`, [runId]);
    return rows[0]?.cancel ?? null;
  }
}
