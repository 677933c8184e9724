import type pg from "pg";
import { leaseSql } from "../../checkpoints/thread_lock.js";
import type { RunBus } from "./bus.js";
import { toJson } from "../serialise.js";

export const RUN_STATUSES = ["pending", "running", "success", "error", "timeout", "interrupted"] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];
export const ACTIVE_STATUSES: readonly RunStatus[] = ["pending", "running"];
export type CancelAction = "interrupt" | "rollback";
export type MultitaskStrategy = "reject" | "interrupt" | "rollback" | "enqueue";

export interface RunKwargs {
  input?: unknown;
  command?: { resume?: unknown; update?: unknown; goto?: unknown };
  config: {
    configurable?: Record<string, unknown>;
    metadata?: Record<string, unknown>;
    tags?: string[];
    recursion_limit?: number;
  };
  context?: unknown;
  stream_mode: string[];
  interrupt_before?: string[] | "*";
  interrupt_after?: string[] | "*";
  checkpoint_id?: string;
  subgraphs?: boolean;
  /** Where the run's outcome is POSTed when it ends (server/queue/webhooks.ts). */
  webhook?: string;
}

/** What a run's webhook reports beside the run: the thread's values when it ended, and its error. */
export interface RunOutcome {
  values?: unknown;
  error?: string;
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
  /** The fencing token of the lease its current worker claimed it under. */
  lease_token: string | null;
  /** One line on how the run's webhook was delivered, refused or given up on. */
  webhook_status: string | null;
  created_at: Date;
  updated_at: Date;
}

/**
 * The runs table as a job queue. A worker owns a run through its thread's lease row (see
 * checkpoints/thread_lock.ts): claimed with FOR UPDATE SKIP LOCKED, so claimers never wait on each
 * other, and only where the thread has no unexpired lease, so a CLI run and a server run of one
 * thread exclude each other. The claim stores the lease's token in the run (`lease_token`); every
 * later write of the run (its checkpoints, its events, how it ended) is refused once another
 * claim has replaced that token. A `running` run whose lease expired lost its worker: it is
 * claimed again, attempt + 1, and resumes from its last checkpoint.
 */
export class RunQueue {
  private readonly claimSql: string;

  constructor(
    private readonly pool: pg.Pool,
    private readonly schema: string,
    private readonly bus: RunBus,
    readonly workerId: string,
  ) {
    this.claimSql = claimSql(schema);
  }

  private get runs() {
    return `"${this.schema}".runs`;
  }

  /**
   * Claims up to `limit` runnable runs, the oldest active run of each thread, pending ones first,
   * taking their threads' leases; `skip` are runs this process runs already. A claimed run that
   * was cancelled while it had no worker ends `interrupted` here instead.
   */
  async claim(limit: number, skip: ReadonlySet<string>): Promise<RunRow[]> {
    const { rows } = await this.pool.query<RunRow>(this.claimSql, [limit, [...skip], this.workerId]);
    const cancelled = rows.filter((run) => run.status !== "running");
    for (const run of cancelled) {
      await this.pool.query(`DELETE FROM "${this.schema}".thread_leases WHERE token = $1`, [run.lease_token]);
      await this.bus.notify("done", run.run_id);
    }
    return rows.filter((run) => run.status === "running");
  }

  /**
   * Records how the run ended and lets go of its thread; only while the run's lease is still
   * `token`. A run with a webhook puts its delivery in the outbox in the same statement, with
   * `outcome` (its final values, its error): the delivery exists exactly when the end is recorded.
   */
  async finish(runId: string, token: string, status: RunStatus, outcome: RunOutcome = {}): Promise<void> {
    await this.pool.query(
      `WITH ended AS (
         UPDATE ${this.runs} SET status = $2, worker = NULL, updated_at = clock_timestamp() WHERE run_id = $1 AND lease_token = $3 RETURNING *),
       webhook AS (
         INSERT INTO "${this.schema}".run_webhooks (run_id, url, payload, idempotency_key)
         SELECT run_id, kwargs->>'webhook', jsonb_build_object('run_id', run_id, 'thread_id', thread_id, 'assistant_id', assistant_id,
             'status', status, 'metadata', metadata, 'multitask_strategy', multitask_strategy, 'attempt', attempt,
             'created_at', created_at, 'run_ended_at', updated_at) || $4::jsonb, run_id::text
         FROM ended WHERE kwargs->>'webhook' IS NOT NULL ON CONFLICT (run_id) DO NOTHING)
       DELETE FROM "${this.schema}".thread_leases WHERE token = $3 AND EXISTS (SELECT 1 FROM ended)`,
      [runId, status, token, toJson(outcome)],
    );
    await this.bus.notify("done", runId);
  }

  /** Gives a run back unfinished (graceful shutdown): another worker resumes it from its last checkpoint at once. */
  async release(runId: string, token: string): Promise<void> {
    await this.pool.query(
      `WITH handed AS (
         UPDATE ${this.runs} SET status = 'pending', worker = NULL, updated_at = clock_timestamp() WHERE run_id = $1 AND lease_token = $2 RETURNING 1)
       DELETE FROM "${this.schema}".thread_leases WHERE token = $2 AND EXISTS (SELECT 1 FROM handed)`,
      [runId, token],
    );
    await this.bus.notify("queued", runId);
  }

  async cancelRequested(runId: string): Promise<CancelAction | null> {
    const { rows } = await this.pool.query<{ cancel: CancelAction | null }>(
      `SELECT cancel FROM ${this.runs} WHERE run_id = $1`,
      [runId],
    );
    return rows[0]?.cancel ?? null;
  }
}

/**
 * One statement claims a batch: candidates locked FOR UPDATE SKIP LOCKED (another claimer skips
 * them rather than waits), their threads' leases taken where none is unexpired (a CLI may have
 * taken one since), and the runs whose lease was taken marked running under its token. Running
 * runs are candidates only once their lease expired, i.e. their worker died or was cut off.
 */
function claimSql(schema: string): string {
  const t = (name: string) => `"${schema}".${name}`;
  const leases = leaseSql(schema);
  const head = `SELECT max(checkpoint_id) FROM ${t("checkpoints")} c WHERE c.thread_id = r.thread_id AND c.checkpoint_ns = ''`;
  return `WITH candidate AS (
      SELECT r.run_id, r.thread_id FROM ${t("runs")} r
      WHERE r.status IN ('pending', 'running') AND r.run_id <> ALL($2::uuid[])
        AND NOT EXISTS (SELECT 1 FROM ${t("runs")} o WHERE o.thread_id = r.thread_id AND o.status IN ('pending', 'running') AND o.created_at < r.created_at)
        AND NOT EXISTS (SELECT 1 FROM ${leases.leases} l WHERE l.thread_id = r.thread_id AND l.expires_at > clock_timestamp())
      ORDER BY r.status = 'running', r.created_at
      LIMIT $1
      FOR UPDATE OF r SKIP LOCKED),
    lease AS (${leases.acquire("SELECT thread_id, $3::text FROM candidate")})
    UPDATE ${t("runs")} r SET
      status = CASE WHEN r.cancel IS NULL THEN 'running' ELSE 'interrupted' END,
      attempt = r.attempt + 1, worker = $3, lease_token = lease.token::bigint, updated_at = clock_timestamp(),
      head_checkpoint = CASE WHEN r.attempt = 0 THEN (${head}) ELSE r.head_checkpoint END,
      start_writes = CASE WHEN r.attempt = 0 THEN (
        SELECT coalesce(jsonb_agg(jsonb_build_array(w.task_id, w.idx)), '[]') FROM ${t("checkpoint_writes")} w
        WHERE w.thread_id = r.thread_id AND w.checkpoint_ns = '' AND w.checkpoint_id = coalesce(r.kwargs->>'checkpoint_id', (${head}))
      ) ELSE r.start_writes END
    FROM lease WHERE r.thread_id = lease.thread_id AND r.run_id IN (SELECT run_id FROM candidate)
    RETURNING r.*, r.lease_token::text AS lease_token`;
}
