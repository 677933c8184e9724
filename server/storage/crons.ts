import type pg from "pg";
import type * as schemas from "../schemas.js";

export interface CronRow {
  cron_id: string;
  assistant_id: string;
  thread_id: string | null;
  schedule: string;
  timezone: string | null;
  payload: schemas.RunCreate;
  metadata: Record<string, unknown>;
  next_run_date: Date | null;
  end_time: Date | null;
  enabled: boolean;
  on_run_completed: "delete" | "keep" | null;
  created_at: Date;
  updated_at: Date;
}

export type NewCron = Omit<CronRow, "created_at" | "updated_at">;

type CronFilter = Pick<schemas.CronSearch, "assistant_id" | "thread_id" | "enabled" | "metadata">;

const WHERE = `($1::uuid IS NULL OR assistant_id = $1) AND ($2::text IS NULL OR thread_id = $2)
  AND ($3::boolean IS NULL OR enabled = $3) AND metadata @> $4`;
const filters = (filter: CronFilter) => [
  filter.assistant_id ?? null,
  filter.thread_id ?? null,
  filter.enabled ?? null,
  filter.metadata ?? {},
];

/** Crons on the crons table, for the API and the scheduler. */
export class CronsRepo {
  private readonly crons: string;

  constructor(
    private readonly pool: pg.Pool,
    schema: string,
  ) {
    this.crons = `"${schema}".crons`;
  }

  async create(cron: NewCron): Promise<CronRow> {
    const { rows } = await this.pool.query<CronRow>(
      `INSERT INTO ${this.crons} (cron_id, assistant_id, thread_id, schedule, timezone, payload, metadata, next_run_date, end_time, enabled, on_run_completed)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING *`,
      [
        cron.cron_id,
        cron.assistant_id,
        cron.thread_id,
        cron.schedule,
        cron.timezone,
        cron.payload,
        cron.metadata,
        cron.next_run_date,
        cron.end_time,
        cron.enabled,
        cron.on_run_completed,
      ],
    );
    return rows[0]!;
  }

  async search(payload: schemas.CronSearch): Promise<CronRow[]> {
    const { rows } = await this.pool.query<CronRow>(
      `SELECT * FROM ${this.crons} WHERE ${WHERE}
       ORDER BY ${payload.sort_by ?? "created_at"} ${payload.sort_order === "asc" ? "ASC" : "DESC"} LIMIT $5 OFFSET $6`,
      [...filters(payload), payload.limit, payload.offset],
    );
    return rows;
  }

  async count(filter: CronFilter): Promise<number> {
    const { rows } = await this.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM ${this.crons} WHERE ${WHERE}`,
      filters(filter),
    );
    return rows[0]!.n;
  }

  /** False when there was no such cron, or none whose metadata holds `visible` (the caller's auth filters). */
  async delete(cronId: string, visible: Record<string, unknown> = {}): Promise<boolean> {
    const { rowCount } = await this.pool.query(
      `DELETE FROM ${this.crons} WHERE cron_id::text = $1 AND metadata @> $2`,
      [cronId, visible],
    );
    return Boolean(rowCount);
  }

  /** The earliest next firing of an enabled cron. */
  async nextDue(): Promise<Date | null> {
    const { rows } = await this.pool.query<{ next: Date | null }>(
      `SELECT min(next_run_date) AS next FROM ${this.crons} WHERE enabled`,
    );
    return rows[0]?.next ?? null;
  }

  /** Up to `limit` crons due now, locked in `client`'s transaction; those another instance holds are skipped. */
  async lockDue(client: pg.PoolClient, limit: number): Promise<CronRow[]> {
    const { rows } = await client.query<CronRow>(
      `SELECT * FROM ${this.crons} WHERE enabled AND next_run_date <= clock_timestamp()
       ORDER BY next_run_date LIMIT ${limit} FOR UPDATE SKIP LOCKED`,
    );
    return rows;
  }

  async setNextRun(client: pg.PoolClient, cronId: string, next: Date | null): Promise<void> {
    await client.query(`UPDATE ${this.crons} SET next_run_date = $2, updated_at = now() WHERE cron_id = $1`, [
      cronId,
      next,
    ]);
  }
}
