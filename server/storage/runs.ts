import type pg from "pg";
import type { RunBus } from "../queue/bus.js";
import type { CancelAction, MultitaskStrategy, RunKwargs, RunRow, RunStatus } from "../queue/runs.js";

/** What queueing a run needs, the request already checked against its assistant and graph. */
export interface RunToQueue {
  runId: string;
  threadId: string;
  /** False for a stateless run: its thread is new. */
  named: boolean;
  ifNotExists: "create" | "reject" | undefined;
  /** The graph of a named thread known only by its checkpoints (the CLI started it). */
  checkpointGraph: string | undefined;
  graphId: string;
  assistant: { assistant_id: string; version: number; updated_at: Date };
  kwargs: RunKwargs;
  metadata: Record<string, unknown>;
  strategy: MultitaskStrategy;
  temporary: boolean;
  /** Metadata a thread the run creates gets beside its graph (its owner, under auth). */
  threadMetadata?: Record<string, unknown>;
  /** What an existing thread's metadata must hold for the caller to run on it (auth filters as containment). */
  visible?: Record<string, unknown>;
}

export type QueueRefusal =
  | { refusal: "assistant_changed" | "thread_has_checkpoints" | "thread_not_found" }
  | { refusal: "graph_mismatch"; threadGraph: string }
  | { refusal: "busy"; busyRun: string; busyStatus: RunStatus };

export type QueueOutcome = { run: RunRow; cancelled: string[] } | QueueRefusal;

type QueueRow = RunRow & {
  cancelled: string[];
  refusal: string | null;
  busy_run: string | null;
  busy_status: RunStatus | null;
  thread_graph: string | null;
};

/** The runs table as the API reads and writes it; the workers' side is the queue's. */
export class RunsRepo {
  private readonly queueStatement: string;

  constructor(
    private readonly pool: pg.Pool,
    private readonly schema: string,
    bus: RunBus,
  ) {
    // One statement: queue_run (db/queue_run.ts) applies the multitask strategy and inserts; the
    // notices go out on commit, so a worker woken by `queued` sees the run.
    const id = (column: string) => `${column}::text`;
    this.queueStatement = `SELECT (q.run).*, q.cancelled, q.refusal, q.busy_run, q.busy_status, q.thread_graph,
        (SELECT count(*) FROM (SELECT ${bus.notifySql("'cancel'", id("c.run_id"))}, ${bus.notifySql("'done'", id("c.run_id"))}
           FROM unnest(q.cancelled) AS c(run_id)) AS n) AS cancel_notices,
        CASE WHEN (q.run).run_id IS NOT NULL THEN ${bus.notifySql("'queued'", id("(q.run).run_id"))} END AS queued_notice
      FROM "${schema}".queue_run($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) q`;
  }

  private get runs(): string {
    return `"${this.schema}".runs`;
  }

  /** Queues a run in one statement, on `client` when given (a caller's transaction), else on the pool. */
  async queue(run: RunToQueue, client: pg.Pool | pg.PoolClient = this.pool): Promise<QueueOutcome> {
    const { rows } = await client.query<QueueRow & { cancel_notices: string; queued_notice: unknown }>(
      this.queueStatement,
      [
        run.threadId,
        run.named,
        run.ifNotExists ?? null,
        run.checkpointGraph ?? null,
        run.graphId,
        run.assistant.assistant_id,
        run.assistant.version,
        run.assistant.updated_at,
        run.runId,
        run.kwargs,
        run.metadata,
        run.strategy,
        run.temporary,
        run.threadMetadata ?? {},
        run.visible ?? {},
      ],
    );
    const {
      cancelled,
      refusal,
      busy_run,
      busy_status,
      thread_graph,
      cancel_notices: _n,
      queued_notice: _q,
      ...row
    } = rows[0]!;
    if (refusal === "graph_mismatch") return { refusal, threadGraph: thread_graph! };
    if (refusal === "busy") return { refusal, busyRun: busy_run!, busyStatus: busy_status! };
    if (refusal === "assistant_changed" || refusal === "thread_has_checkpoints" || refusal === "thread_not_found")
      return { refusal };
    return { run: row, cancelled };
  }

  async get(threadId: string, runId: string): Promise<RunRow | undefined> {
    const { rows } = await this.pool.query<RunRow>(`SELECT * FROM ${this.runs} WHERE run_id = $1 AND thread_id = $2`, [
      runId,
      threadId,
    ]);
    return rows[0];
  }

  async active(threadId: string): Promise<RunRow[]> {
    const { rows } = await this.pool.query<RunRow>(
      `SELECT * FROM ${this.runs} WHERE thread_id = $1 AND status IN ('pending', 'running') ORDER BY created_at`,
      [threadId],
    );
    return rows;
  }

  /** Runs of a thread, newest first. */
  async list(threadId: string, status: string | undefined, limit: number, offset: number): Promise<RunRow[]> {
    const { rows } = await this.pool.query<RunRow>(
      `SELECT * FROM ${this.runs} WHERE thread_id = $1 AND ($2::text IS NULL OR status = $2) ORDER BY created_at DESC LIMIT $3 OFFSET $4`,
      [threadId, status ?? null, limit, offset],
    );
    return rows;
  }

  /** The runs in one of `statuses`, of the thread and among the ids when given. */
  async find(
    statuses: readonly RunStatus[],
    threadId: string | undefined,
    runIds: string[] | undefined,
  ): Promise<RunRow[]> {
    const { rows } = await this.pool.query<RunRow>(
      `SELECT * FROM ${this.runs} WHERE status = ANY($1) AND ($2::text IS NULL OR thread_id = $2) AND ($3::uuid[] IS NULL OR run_id = ANY($3))`,
      [statuses, threadId ?? null, runIds ?? null],
    );
    return rows;
  }

  async status(runId: string): Promise<{ status: RunStatus; temporary: boolean } | undefined> {
    const { rows } = await this.pool.query<{ status: RunStatus; temporary: boolean }>(
      `SELECT status, temporary FROM ${this.runs} WHERE run_id = $1`,
      [runId],
    );
    return rows[0];
  }

  /** The data of the run's last stream event of kind `event`. */
  async lastEvent(runId: string, event: "error" | "values"): Promise<unknown> {
    const { rows } = await this.pool.query<{ data: unknown }>(
      `SELECT data FROM "${this.schema}".run_events WHERE run_id = $1 AND event = $2 ORDER BY seq DESC LIMIT 1`,
      [runId, event],
    );
    return rows[0]?.data;
  }

  /**
   * Asks an active run to stop: a pending one ends `interrupted` here (and under rollback goes);
   * a running one is marked for its worker. Its status after, or undefined when it was not active.
   */
  async requestCancel(runId: string, action: CancelAction): Promise<RunStatus | undefined> {
    const { rows } = await this.pool.query<{ status: RunStatus }>(
      `UPDATE ${this.runs} SET cancel = $2, status = CASE WHEN status = 'pending' THEN 'interrupted' ELSE status END, updated_at = clock_timestamp()
       WHERE run_id = $1 AND status IN ('pending', 'running') RETURNING status`,
      [runId, action],
    );
    if (rows[0]?.status === "interrupted" && action === "rollback") await this.delete(runId);
    return rows[0]?.status;
  }

  async delete(runId: string): Promise<void> {
    await this.pool.query(`DELETE FROM ${this.runs} WHERE run_id = $1`, [runId]);
  }
}
