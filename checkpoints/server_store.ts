import type pg from "pg";

/** The tables the API server keeps beside the checkpoints, in the checkpoints' schema. */
export const SERVER_TABLES = [
  "assistants",
  "assistant_versions",
  "threads",
  "runs",
  "run_events",
  "store_items",
  "crons",
] as const;

/**
 * One version of the layout. Each statement is idempotent, so a migration interrupted halfway
 * is finished by the next; a later change appends statements, never edits these.
 */
function migrations(schema: string): string[] {
  const t = (name: string) => `"${schema}".${name}`;
  return [
    `CREATE TABLE IF NOT EXISTS ${t("assistants")} (
      assistant_id uuid PRIMARY KEY,
      graph_id text NOT NULL,
      name text NOT NULL,
      description text,
      config jsonb NOT NULL DEFAULT '{}',
      context jsonb NOT NULL DEFAULT '{}',
      metadata jsonb NOT NULL DEFAULT '{}',
      version integer NOT NULL DEFAULT 1,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now())`,
    `CREATE TABLE IF NOT EXISTS ${t("assistant_versions")} (
      assistant_id uuid NOT NULL REFERENCES ${t("assistants")} ON DELETE CASCADE,
      version integer NOT NULL,
      graph_id text NOT NULL,
      name text NOT NULL,
      description text,
      config jsonb NOT NULL,
      context jsonb NOT NULL,
      metadata jsonb NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (assistant_id, version))`,
    // thread_id is text: the CLI names threads with any string it is given.
    `CREATE TABLE IF NOT EXISTS ${t("threads")} (
      thread_id text PRIMARY KEY,
      graph_id text,
      metadata jsonb NOT NULL DEFAULT '{}',
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now())`,
    // The runs are the job queue: a worker claims the oldest active run of a thread with the
    // thread's lease (see server/queue/runs.ts).
    `CREATE TABLE IF NOT EXISTS ${t("runs")} (
      run_id uuid PRIMARY KEY,
      thread_id text NOT NULL,
      assistant_id uuid NOT NULL,
      graph_id text NOT NULL,
      status text NOT NULL,
      kwargs jsonb NOT NULL,
      metadata jsonb NOT NULL DEFAULT '{}',
      multitask_strategy text NOT NULL,
      temporary boolean NOT NULL DEFAULT false,
      attempt integer NOT NULL DEFAULT 0,
      worker text,
      cancel text,
      -- The thread's newest checkpoint when the run was first claimed: a retry that finds a newer
      -- one resumes from it, and a rollback deletes the checkpoints after it.
      head_checkpoint text,
      created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
      updated_at timestamptz NOT NULL DEFAULT clock_timestamp())`,
    `CREATE INDEX IF NOT EXISTS runs_thread_created ON ${t("runs")} (thread_id, created_at)`,
    `CREATE INDEX IF NOT EXISTS runs_active ON ${t("runs")} (created_at) WHERE status IN ('pending', 'running')`,
    `CREATE TABLE IF NOT EXISTS ${t("run_events")} (
      run_id uuid NOT NULL,
      seq integer NOT NULL,
      event text NOT NULL,
      data jsonb,
      PRIMARY KEY (run_id, seq))`,
    `CREATE TABLE IF NOT EXISTS ${t("store_items")} (
      namespace text[] NOT NULL,
      key text NOT NULL,
      value jsonb NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (namespace, key))`,
    `CREATE TABLE IF NOT EXISTS ${t("crons")} (
      cron_id uuid PRIMARY KEY,
      assistant_id uuid NOT NULL,
      thread_id text,
      schedule text NOT NULL,
      payload jsonb NOT NULL,
      metadata jsonb NOT NULL DEFAULT '{}',
      next_run_date timestamptz,
      end_time timestamptz,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now())`,
    `ALTER TABLE ${t("crons")} ADD COLUMN IF NOT EXISTS enabled boolean NOT NULL DEFAULT true`,
    `ALTER TABLE ${t("crons")} ADD COLUMN IF NOT EXISTS timezone text`,
    // A stateless cron's runs: their threads deleted when they end, or kept.
    `ALTER TABLE ${t("crons")} ADD COLUMN IF NOT EXISTS on_run_completed text`,
    `CREATE INDEX IF NOT EXISTS crons_due ON ${t("crons")} (next_run_date) WHERE enabled`,
    // The writes already saved at the checkpoint a run started from, when it was first claimed: a
    // rollback deletes the others there (its resume value, its finished tasks), which are the run's.
    `ALTER TABLE ${t("runs")} ADD COLUMN IF NOT EXISTS start_writes jsonb`,
    // The token of the thread lease the run's current worker claimed it under: its writes count
    // only while the lease still has this token (checkpoints/thread_lock.ts).
    `ALTER TABLE ${t("runs")} ADD COLUMN IF NOT EXISTS lease_token bigint`,
  ];
}

/**
 * Creates or completes the server's tables. Run under an advisory lock, so instances starting
 * together on a fresh database do not race on CREATE (which is not safe concurrently).
 */
export async function migrateServerStore(pool: pg.Pool, schema: string): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query("SELECT pg_advisory_lock(hashtext($1))", [`langgraph-orchestra:server-migrate:${schema}`]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
    for (const statement of migrations(schema)) await client.query(statement);
  } finally {
    // Dropping the session releases the lock with it.
    client.release(true);
  }
}
