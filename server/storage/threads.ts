import type pg from "pg";
import { inTransaction } from "../../checkpoints/transaction.js";
import type { RunStatus } from "../queue/runs.js";
import type * as schemas from "../schemas.js";

export interface ThreadRow {
  thread_id: string;
  graph_id: string | null;
  metadata: Record<string, unknown>;
  created_at: Date;
  updated_at: Date;
}

/** A thread just created, with what its view needs beside the row, read in the same statement. */
export interface CreatedThread {
  row: ThreadRow;
  /** A CLI thread of that id saved checkpoints before it had a row. */
  hasCheckpoints: boolean;
  lastRunStatus: RunStatus | undefined;
}

const CHECKPOINT_TABLES = ["checkpoints", "checkpoint_blobs", "checkpoint_writes"] as const;

/** How long a stateless run's row and events outlive its thread: its waiters and joiners read them. */
const STATELESS_RUN_KEPT = "1 minute";

/** The threads' rows; their checkpoints are the checkpointer's, read through the graphs. */
export class ThreadsRepo {
  constructor(
    private readonly pool: pg.Pool,
    private readonly schema: string,
  ) {}

  private table(name: string): string {
    return `"${this.schema}".${name}`;
  }

  async get(threadId: string): Promise<ThreadRow | undefined> {
    const { rows } = await this.pool.query<ThreadRow>(`SELECT * FROM ${this.table("threads")} WHERE thread_id = $1`, [
      threadId,
    ]);
    return rows[0];
  }

  /** The row of a thread the CLI started (it has checkpoints and no row), of graph `graphId`. */
  async adopt(threadId: string, graphId: string): Promise<ThreadRow> {
    const { rows } = await this.pool.query<ThreadRow>(
      `INSERT INTO ${this.table("threads")} (thread_id, graph_id, metadata) VALUES ($1, $2, $3)
       ON CONFLICT (thread_id) DO UPDATE SET thread_id = EXCLUDED.thread_id RETURNING *`,
      [threadId, graphId, { graph_id: graphId, created_by: "cli" }],
    );
    return rows[0]!;
  }

  /** One statement: the new row, or undefined when a thread of that id has one already. */
  async create(
    threadId: string,
    graphId: string | null,
    metadata: Record<string, unknown>,
    ttl?: schemas.ThreadTtl,
  ): Promise<CreatedThread | undefined> {
    const { rows } = await this.pool.query<ThreadRow & { has_checkpoints: boolean; last_run_status: RunStatus | null }>(
      `WITH created AS (
         INSERT INTO ${this.table("threads")} (thread_id, graph_id, metadata, ttl_strategy, ttl_minutes) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (thread_id) DO NOTHING RETURNING *)
       SELECT created.*,
         EXISTS (SELECT 1 FROM ${this.table("checkpoints")} c WHERE c.thread_id = created.thread_id AND c.checkpoint_ns = '') AS has_checkpoints,
         (SELECT status FROM ${this.table("runs")} r WHERE r.thread_id = created.thread_id ORDER BY created_at DESC LIMIT 1) AS last_run_status
       FROM created`,
      [threadId, graphId, metadata, ttl?.strategy ?? null, ttl?.ttl ?? null],
    );
    if (!rows[0]) return undefined;
    const { has_checkpoints, last_run_status, ...row } = rows[0];
    return { row, hasCheckpoints: has_checkpoints, lastRunStatus: last_run_status ?? undefined };
  }

  /** Gives every thread the CLI started a row, so searches show them too. */
  async adoptCliThreads(): Promise<void> {
    await this.pool.query(
      `INSERT INTO ${this.table("threads")} (thread_id, metadata)
       SELECT DISTINCT thread_id, '{"created_by": "cli"}'::jsonb FROM ${this.table("checkpoints")} c
       WHERE NOT EXISTS (SELECT 1 FROM ${this.table("threads")} t WHERE t.thread_id = c.thread_id)
       ON CONFLICT DO NOTHING`,
    );
  }

  async search(payload: schemas.ThreadSearch): Promise<ThreadRow[]> {
    const sortBy = payload.sort_by ?? "created_at";
    const { rows } = await this.pool.query<ThreadRow>(
      `SELECT * FROM ${this.table("threads")} WHERE metadata @> $1 AND ($2::text[] IS NULL OR thread_id = ANY($2))
       ORDER BY ${sortBy} ${payload.sort_order === "asc" ? "ASC" : "DESC"}`,
      [payload.metadata ?? {}, payload.ids ?? null],
    );
    return rows;
  }

  async setGraph(threadId: string, graphId: string): Promise<void> {
    await this.pool.query(`UPDATE ${this.table("threads")} SET graph_id = $2 WHERE thread_id = $1`, [
      threadId,
      graphId,
    ]);
  }

  async mergeMetadata(threadId: string, metadata: Record<string, unknown>): Promise<ThreadRow> {
    const { rows } = await this.pool.query<ThreadRow>(
      `UPDATE ${this.table("threads")} SET metadata = metadata || $2, updated_at = now() WHERE thread_id = $1 RETURNING *`,
      [threadId, metadata],
    );
    return rows[0]!;
  }

  async touch(threadId: string): Promise<void> {
    await this.pool.query(`UPDATE ${this.table("threads")} SET updated_at = now() WHERE thread_id = $1`, [threadId]);
  }

  async lastRunStatus(threadId: string): Promise<RunStatus | undefined> {
    const { rows } = await this.pool.query<{ status: RunStatus }>(
      `SELECT status FROM ${this.table("runs")} WHERE thread_id = $1 ORDER BY created_at DESC LIMIT 1`,
      [threadId],
    );
    return rows[0]?.status;
  }

  /** A new thread `copyId` with the row's graph and metadata and every checkpoint of `from`. */
  async copy(from: ThreadRow, copyId: string): Promise<void> {
    await inTransaction(this.pool, async (client) => {
      await client.query(`INSERT INTO ${this.table("threads")} (thread_id, graph_id, metadata) VALUES ($1, $2, $3)`, [
        copyId,
        from.graph_id,
        from.metadata,
      ]);
      for (const name of CHECKPOINT_TABLES) {
        const { rows } = await client.query<{ column_name: string }>(
          "SELECT column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 AND column_name <> 'thread_id'",
          [this.schema, name],
        );
        const columns = rows.map((r) => `"${r.column_name}"`).join(", ");
        await client.query(
          `INSERT INTO ${this.table(name)} (thread_id, ${columns}) SELECT $2, ${columns} FROM ${this.table(name)} WHERE thread_id = $1`,
          [from.thread_id, copyId],
        );
      }
    });
  }

  delete(threadId: string): Promise<void> {
    return deleteThreadRows(this.pool, this.schema, threadId);
  }
}

/** A thread and all it has: runs, their events, checkpoints; on `pool`, or in a caller's transaction. */
export async function deleteThreadRows(pool: pg.Pool | pg.PoolClient, schema: string, threadId: string): Promise<void> {
  const table = (name: string) => `"${schema}".${name}`;
  await pool.query(
    `DELETE FROM ${table("run_events")} WHERE run_id IN (SELECT run_id FROM ${table("runs")} WHERE thread_id = $1)`,
    [threadId],
  );
  for (const name of ["runs", ...[...CHECKPOINT_TABLES].reverse(), "threads"]) {
    await pool.query(`DELETE FROM ${table(name)} WHERE thread_id = $1`, [threadId]);
  }
}

/** The thread's blobs that no checkpoint of it refers to any more (after a rollback or a prune). */
export async function deleteUnreferencedBlobs(client: pg.PoolClient, schema: string, threadId: string): Promise<void> {
  const table = (name: string) => `"${schema}".${name}`;
  await client.query(
    `DELETE FROM ${table("checkpoint_blobs")} b WHERE thread_id = $1 AND NOT EXISTS (
       SELECT 1 FROM ${table("checkpoints")} c WHERE c.thread_id = b.thread_id AND c.checkpoint_ns = b.checkpoint_ns
         AND c.checkpoint->'channel_versions'->>b.channel = b.version)`,
    [threadId],
  );
}

/**
 * The thread of a stateless run that has ended, but not yet the run and its events, which a
 * wait or join may still be reading; those of stateless runs that ended a while ago go instead.
 */
export async function deleteStatelessThread(pool: pg.Pool, schema: string, threadId: string): Promise<void> {
  const table = (name: string) => `"${schema}".${name}`;
  for (const name of [...[...CHECKPOINT_TABLES].reverse(), "threads"]) {
    await pool.query(`DELETE FROM ${table(name)} WHERE thread_id = $1`, [threadId]);
  }
  await pool.query(
    `WITH expired AS (
       DELETE FROM ${table("runs")} WHERE temporary AND status NOT IN ('pending', 'running')
         AND updated_at < clock_timestamp() - interval '${STATELESS_RUN_KEPT}' RETURNING run_id)
     DELETE FROM ${table("run_events")} WHERE run_id IN (SELECT run_id FROM expired)`,
  );
}
