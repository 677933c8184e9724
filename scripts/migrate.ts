import type pg from "pg";
import { AGENT_RUNS_TABLE, setUpAgentStats } from "../checkpoints/dynamic_agents/agent_stats.js";
import { migrateDefinitionVersions } from "../checkpoints/enterprise_workflow/definition_versions.js";
import { migrateEnterpriseControls } from "../checkpoints/enterprise_workflow/controls.js";
import { migrateServerStore, SERVER_TABLES } from "../checkpoints/server_store.js";

/**
 * Every table the product keeps in the checkpoints' schema, by what it serves. The checkpoint
 * tables are created by opening the checkpointer; the others by `migrateAll`. Each module also
 * creates its own tables on first use, so this is where `orchestra db migrate` does them all at
 * once (a deployment that gives its app role no CREATE right migrates first, as another role).
 */
export const PRODUCT_TABLES = {
  checkpoints: ["checkpoint_migrations", "checkpoints", "checkpoint_blobs", "checkpoint_writes"],
  server: SERVER_TABLES,
  "agent stats": [AGENT_RUNS_TABLE],
  "enterprise controls": ["enterprise_control_requests", "enterprise_breakers"],
  "definition versions": ["workflow_definition_versions"],
} as const satisfies Record<string, readonly string[]>;

export type TableGroup = keyof typeof PRODUCT_TABLES;

/**
 * Creates or completes every table beside the checkpoint tables; safe to repeat. Callers on one
 * schema take turns under an advisory lock: not every module's own set-up locks, and concurrent
 * CREATE TABLE IF NOT EXISTS collide in the catalog (servers starting together on a fresh schema).
 */
export async function migrateAll(pool: pg.Pool, schema: string): Promise<void> {
  const session = await pool.connect();
  try {
    await session.query("SELECT pg_advisory_lock(hashtext($1))", [`langgraph-orchestra:migrate-all:${schema}`]);
    await migrateServerStore(pool, schema);
    await setUpAgentStats(pool, schema);
    await migrateEnterpriseControls(pool, schema);
    await migrateDefinitionVersions(pool, schema);
  } finally {
    // Dropping the session releases the lock with it.
    session.release(true);
  }
}

export interface TablePresence {
  group: TableGroup;
  table: string;
  present: boolean;
}

/** Which of the product's tables exist in `schema`. */
export async function productTables(pool: pg.Pool, schema: string): Promise<TablePresence[]> {
  const wanted = Object.entries(PRODUCT_TABLES).flatMap(([group, tables]) => tables.map((table) => ({ group: group as TableGroup, table })));
  const { rows } = await pool.query<{ table_name: string }>(
    "SELECT table_name FROM information_schema.tables WHERE table_schema = $1 AND table_name = ANY($2)",
    [schema, wanted.map((w) => w.table)],
  );
  const present = new Set(rows.map((row) => row.table_name));
  return wanted.map((w) => ({ ...w, present: present.has(w.table) }));
}
