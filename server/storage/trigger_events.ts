import type pg from "pg";

/** The tables the triggers keep, for `orchestra db` (db/migrate.ts lists them). */
export const EVENT_TABLES = ["trigger_events"] as const;

/**
 * One row per event a trigger acted on, keyed by its idempotency key: written in the transaction
 * that queues the event's run, so the key and the run commit together or not at all. Each
 * statement is idempotent; a later change appends statements.
 */
function migrations(schema: string): string[] {
  const t = (name: string) => `"${schema}".${name}`;
  return [
    `CREATE TABLE IF NOT EXISTS ${t("trigger_events")} (
      trigger text NOT NULL,
      event_key text NOT NULL,
      thread_id text NOT NULL,
      run_id uuid,
      created_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (trigger, event_key))`,
  ];
}

export async function migrateEventTables(client: pg.Pool | pg.PoolClient, schema: string): Promise<void> {
  for (const statement of migrations(schema)) await client.query(statement);
}

export interface TriggerEventRow {
  trigger: string;
  event_key: string;
  thread_id: string;
  run_id: string | null;
}

/** The trigger_events table. */
export class TriggerEventsRepo {
  constructor(
    private readonly pool: pg.Pool,
    private readonly schema: string,
  ) {}

  private get table(): string {
    return `"${this.schema}".trigger_events`;
  }

  /** The run an event already started, if one did. */
  async find(trigger: string, eventKey: string, client: pg.Pool | pg.PoolClient = this.pool): Promise<TriggerEventRow | undefined> {
    const { rows } = await client.query<TriggerEventRow>(`SELECT trigger, event_key, thread_id, run_id FROM ${this.table} WHERE trigger = $1 AND event_key = $2`, [trigger, eventKey]);
    return rows[0];
  }

  /**
   * Claims the event's key in the caller's transaction: true when this transaction holds it now.
   * A concurrent claim of the same key waits on the primary key until the first commits, then
   * finds it taken (and reads the first one's run), or rolls back and takes it.
   */
  async claim(client: pg.PoolClient, trigger: string, eventKey: string, threadId: string): Promise<boolean> {
    const { rowCount } = await client.query(`INSERT INTO ${this.table} (trigger, event_key, thread_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`, [trigger, eventKey, threadId]);
    return rowCount === 1;
  }

  /** Records the run the claimed event queued, in the same transaction. */
  async setRun(client: pg.PoolClient, trigger: string, eventKey: string, threadId: string, runId: string): Promise<void> {
    await client.query(`UPDATE ${this.table} SET thread_id = $3, run_id = $4 WHERE trigger = $1 AND event_key = $2`, [trigger, eventKey, threadId, runId]);
  }
}
