import type pg from "pg";
import { workflowStorages } from "../graphs/registry.js";
import { migrateServerStore, SERVER_TABLES } from "../checkpoints/server_store.js";
import { migrateServerFunctions } from "./queue_run.js";
import { EVENT_TABLES, migrateEventTables } from "../server/storage/trigger_events.js";

/**
 * Every table the product keeps in the checkpoints' schema, by what it serves: the checkpoints',
 * the server's, then each workflow's own (its registry entry's `storage`). The checkpoint
 * tables are created by opening the checkpointer; the others by `migrateAll`. Each module also
 * creates its own tables on first use, so this is where `orchestra db migrate` does them all at
 * once (a deployment that gives its app role no CREATE right migrates first, as another role).
 */
export async function productTables(): Promise<Record<string, readonly string[]>> {
  const workflows = await workflowStorages();
  return {
    checkpoints: ["checkpoint_migrations", "checkpoints", "checkpoint_blobs", "checkpoint_writes"],
    server: SERVER_TABLES,
    webhooks: ["run_webhooks"],
    events: EVENT_TABLES,
    ...Object.fromEntries(workflows.flatMap((storage) => Object.entries(storage.tables))),
  };
}

/**
 * Creates or completes every table beside the checkpoint tables; safe to repeat. Callers on one
 * schema take turns under an advisory lock: not every module's own set-up locks, and concurrent
 * CREATE TABLE IF NOT EXISTS collide in the catalog (servers starting together on a fresh schema).
 */
export async function migrateAll(pool: pg.Pool, schema: string): Promise<void> {
  const workflows = await workflowStorages();
  const session = await pool.connect();
  try {
    await session.query("SELECT pg_advisory_lock(hashtext($1))", [`langgraph-orchestra:migrate-all:${schema}`]);
    await migrateServerStore(pool, schema);
    await migrateRunWebhooks(session, schema);
    await migrateTtl(session, schema);
    await migrateServerFunctions(session, schema);
    await migrateEventTables(session, schema);
    for (const storage of workflows) await storage.migrate(pool, schema);
  } finally {
    // Dropping the session releases the lock with it.
    session.release(true);
  }
}

export interface TablePresence {
  group: string;
  table: string;
  present: boolean;
}

/** Which of the product's tables exist in `schema`. */
export async function tablePresence(pool: pg.Pool, schema: string): Promise<TablePresence[]> {
  const wanted = Object.entries(await productTables()).flatMap(([group, tables]) =>
    tables.map((table) => ({ group, table })),
  );
  const { rows } = await pool.query<{ table_name: string }>(
    "SELECT table_name FROM information_schema.tables WHERE table_schema = $1 AND table_name = ANY($2)",
    [schema, wanted.map((w) => w.table)],
  );
  const present = new Set(rows.map((row) => row.table_name));
  return wanted.map((w) => ({ ...w, present: present.has(w.table) }));
}

/**
 * Run-completion webhooks: the outbox a run's final status inserts into in the same statement
 * (server/queue/runs.ts, `finish`), one row per run, whose delivery any instance claims under a
 * lease (server/queue/webhooks.ts); and the one line that delivery leaves on the run. Idempotent.
 */
async function migrateRunWebhooks(session: pg.PoolClient, schema: string): Promise<void> {
  const t = (name: string) => `"${schema}".${name}`;
  const statements = [
    `CREATE TABLE IF NOT EXISTS ${t("run_webhooks")} (
      run_id uuid PRIMARY KEY,
      url text NOT NULL,
      payload jsonb NOT NULL,
      idempotency_key text NOT NULL,
      status text NOT NULL DEFAULT 'pending',
      attempts integer NOT NULL DEFAULT 0,
      next_attempt_at timestamptz NOT NULL DEFAULT clock_timestamp(),
      lease_owner text,
      lease_expires_at timestamptz,
      last_error text,
      created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
      delivered_at timestamptz)`,
    `CREATE INDEX IF NOT EXISTS run_webhooks_due ON ${t("run_webhooks")} (next_attempt_at) WHERE status = 'pending'`,
    `ALTER TABLE ${t("runs")} ADD COLUMN IF NOT EXISTS webhook_status text`,
  ];
  for (const statement of statements) await session.query(statement);
}

/** Threads' and store items' TTLs (server/ttl.ts sweeps what expired). Idempotent. */
async function migrateTtl(session: pg.PoolClient, schema: string): Promise<void> {
  const t = (name: string) => `"${schema}".${name}`;
  const statements = [
    `ALTER TABLE ${t("threads")} ADD COLUMN IF NOT EXISTS ttl_strategy text`,
    `ALTER TABLE ${t("threads")} ADD COLUMN IF NOT EXISTS ttl_minutes double precision`,
    // A keep_latest thread's TTL runs again from its last prune.
    `ALTER TABLE ${t("threads")} ADD COLUMN IF NOT EXISTS ttl_swept_at timestamptz`,
    `ALTER TABLE ${t("store_items")} ADD COLUMN IF NOT EXISTS ttl_minutes double precision`,
    `ALTER TABLE ${t("store_items")} ADD COLUMN IF NOT EXISTS expires_at timestamptz`,
    `CREATE INDEX IF NOT EXISTS store_items_expiring ON ${t("store_items")} (expires_at) WHERE expires_at IS NOT NULL`,
  ];
  for (const statement of statements) await session.query(statement);
}
