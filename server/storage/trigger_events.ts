import type pg from "pg";

/** The tables the triggers keep, for `orchestra db` (db/migrate.ts lists them). */
export const EVENT_TABLES = ["trigger_events", "event_waits"] as const;

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
    // A thread asleep in a wait_event step: a signal with its correlation key resumes it, or the
    // timeout sweep does at its deadline. The row goes in the transaction that queues the resume.
    `CREATE TABLE IF NOT EXISTS ${t("event_waits")} (
      thread_id text NOT NULL,
      step_id text NOT NULL,
      graph_id text NOT NULL,
      definition text NOT NULL,
      correlation_key text NOT NULL,
      filter text,
      deadline timestamptz NOT NULL,
      on_timeout text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
      PRIMARY KEY (thread_id, step_id))`,
    `CREATE INDEX IF NOT EXISTS event_waits_key ON ${t("event_waits")} (definition, correlation_key)`,
    `CREATE INDEX IF NOT EXISTS event_waits_deadline ON ${t("event_waits")} (deadline)`,
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
  async find(
    trigger: string,
    eventKey: string,
    client: pg.Pool | pg.PoolClient = this.pool,
  ): Promise<TriggerEventRow | undefined> {
    const { rows } = await client.query<TriggerEventRow>(
      `SELECT trigger, event_key, thread_id, run_id FROM ${this.table} WHERE trigger = $1 AND event_key = $2`,
      [trigger, eventKey],
    );
    return rows[0];
  }

  /**
   * Claims the event's key in the caller's transaction: true when this transaction holds it now.
   * A concurrent claim of the same key waits on the primary key until the first commits, then
   * finds it taken (and reads the first one's run), or rolls back and takes it.
   */
  async claim(client: pg.PoolClient, trigger: string, eventKey: string, threadId: string): Promise<boolean> {
    const { rowCount } = await client.query(
      `INSERT INTO ${this.table} (trigger, event_key, thread_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
      [trigger, eventKey, threadId],
    );
    return rowCount === 1;
  }

  /** Records the run the claimed event queued, in the same transaction. */
  async setRun(
    client: pg.PoolClient,
    trigger: string,
    eventKey: string,
    threadId: string,
    runId: string,
  ): Promise<void> {
    await client.query(`UPDATE ${this.table} SET thread_id = $3, run_id = $4 WHERE trigger = $1 AND event_key = $2`, [
      trigger,
      eventKey,
      threadId,
      runId,
    ]);
  }
}

export interface EventWaitRow {
  thread_id: string;
  step_id: string;
  graph_id: string;
  definition: string;
  correlation_key: string;
  filter: string | null;
  deadline: Date;
  on_timeout: string;
}

/** The event_waits table. */
export class EventWaitsRepo {
  constructor(
    private readonly pool: pg.Pool,
    private readonly schema: string,
  ) {}

  private get table(): string {
    return `"${this.schema}".event_waits`;
  }

  /** Records a wait; a wait already recorded (another instance saw the same run end) stays as it is. */
  async record(wait: Omit<EventWaitRow, "deadline"> & { deadline: string }): Promise<void> {
    await this.pool.query(
      `INSERT INTO ${this.table} (thread_id, step_id, graph_id, definition, correlation_key, filter, deadline, on_timeout) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING`,
      [
        wait.thread_id,
        wait.step_id,
        wait.graph_id,
        wait.definition,
        wait.correlation_key,
        wait.filter,
        wait.deadline,
        wait.on_timeout,
      ],
    );
  }

  /** The waits for a key, oldest first, locked in the caller's transaction; those another transaction holds are passed over. */
  async lockWaiting(client: pg.PoolClient, definition: string | null, correlationKey: string): Promise<EventWaitRow[]> {
    const { rows } = await client.query<EventWaitRow>(
      `SELECT * FROM ${this.table} WHERE ($1::text IS NULL OR definition = $1) AND correlation_key = $2 ORDER BY created_at FOR UPDATE SKIP LOCKED`,
      [definition, correlationKey],
    );
    return rows;
  }

  /** Waits past their deadline, locked in the caller's transaction (SKIP LOCKED: each is claimed by one instance). */
  async lockDue(client: pg.PoolClient, limit: number): Promise<EventWaitRow[]> {
    const { rows } = await client.query<EventWaitRow>(
      `SELECT * FROM ${this.table} WHERE deadline <= now() ORDER BY deadline LIMIT $1 FOR UPDATE SKIP LOCKED`,
      [limit],
    );
    return rows;
  }

  async delete(client: pg.PoolClient, threadId: string, stepId: string): Promise<void> {
    await client.query(`DELETE FROM ${this.table} WHERE thread_id = $1 AND step_id = $2`, [threadId, stepId]);
  }

  /** The thread and graph of a run that ended well: its thread may now be waiting. */
  async succeededRun(runId: string): Promise<{ thread_id: string; graph_id: string } | undefined> {
    const { rows } = await this.pool.query<{ thread_id: string; graph_id: string }>(
      `SELECT thread_id, graph_id FROM "${this.schema}".runs WHERE run_id = $1 AND status = 'success'`,
      [runId],
    );
    return rows[0];
  }
}
