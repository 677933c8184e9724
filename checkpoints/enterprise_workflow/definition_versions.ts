import type pg from "pg";
import { newPool } from "../pool.js";
import { envValue } from "../../db/env.js";
import { inTransaction } from "../transaction.js";
import type { AdvancedWorkflow } from "../../state/enterprise_workflow/definition.js";

/**
 * Versions of engine definitions, kept in Postgres beside the checkpoints: every instance of the
 * server and every CLI on the database sees the same history. Version 1 is the file the first
 * change started from; each applied change appends the next. Rows are never updated.
 */
export interface DefinitionVersion {
  name: string;
  version: number;
  definition: AdvancedWorkflow;
  /** Why this version exists: "from <file>", or the recommendations applied. */
  note: string;
  createdAt: string;
}

export async function migrateDefinitionVersions(pool: pg.Pool, schema: string): Promise<void> {
  await pool.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
  await pool.query(`CREATE TABLE IF NOT EXISTS "${schema}".workflow_definition_versions (
    name text NOT NULL,
    version integer NOT NULL,
    definition jsonb NOT NULL,
    note text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (name, version))`);
}

interface VersionRow {
  name: string;
  version: number;
  definition: AdvancedWorkflow;
  note: string;
  created_at: Date;
}

const fromRow = (row: VersionRow): DefinitionVersion => ({
  name: row.name,
  version: row.version,
  definition: row.definition,
  note: row.note,
  createdAt: row.created_at.toISOString(),
});

/** Oldest first. */
export async function listDefinitionVersions(
  pool: pg.Pool,
  schema: string,
  name: string,
): Promise<DefinitionVersion[]> {
  await migrateDefinitionVersions(pool, schema);
  const { rows } = await pool.query<VersionRow>(
    `SELECT * FROM "${schema}".workflow_definition_versions WHERE name = $1 ORDER BY version`,
    [name],
  );
  return rows.map(fromRow);
}

/**
 * Appends versions in one transaction: the first becomes the next number, and so on. The
 * (name, version) key refuses a second writer that read the same latest version.
 */
export async function appendDefinitionVersions(
  pool: pg.Pool,
  schema: string,
  name: string,
  versions: readonly { definition: AdvancedWorkflow; note: string }[],
): Promise<DefinitionVersion[]> {
  await migrateDefinitionVersions(pool, schema);
  return inTransaction(pool, async (client) => {
    const { rows: latest } = await client.query<{ version: number | null }>(
      `SELECT max(version) AS version FROM "${schema}".workflow_definition_versions WHERE name = $1`,
      [name],
    );
    const saved: DefinitionVersion[] = [];
    let next = (latest[0]?.version ?? 0) + 1;
    for (const { definition, note } of versions) {
      const stored = { ...definition, version: String(next) };
      const { rows } = await client.query<VersionRow>(
        `INSERT INTO "${schema}".workflow_definition_versions (name, version, definition, note) VALUES ($1, $2, $3, $4) RETURNING *`,
        [name, next, stored, note],
      );
      saved.push(fromRow(rows[0]!));
      next += 1;
    }
    return saved;
  });
}

let versionsPool: { url: string; pool: pg.Pool } | undefined;

/**
 * The newest stored version of a definition, for runs that name it: read from DATABASE_URL's
 * database in ORCHESTRA_DB_SCHEMA, where `optimize --apply` wrote it. Undefined when nothing is
 * stored (or there is no DATABASE_URL): the run then loads the definition file.
 */
export async function newestStoredDefinition(name: string): Promise<AdvancedWorkflow | undefined> {
  const url = envValue("DATABASE_URL");
  if (url === undefined) return undefined;
  if (versionsPool?.url !== url)
    versionsPool = { url, pool: newPool({ connectionString: url, max: 2, allowExitOnIdle: true }) };
  const schema = envValue("ORCHESTRA_DB_SCHEMA") ?? "public";
  const { rows: exists } = await versionsPool.pool.query<{ found: string | null }>(`SELECT to_regclass($1) AS found`, [
    `"${schema}".workflow_definition_versions`,
  ]);
  if (!exists[0]?.found) return undefined;
  const { rows } = await versionsPool.pool.query<{ definition: AdvancedWorkflow }>(
    `SELECT definition FROM "${schema}".workflow_definition_versions WHERE name = $1 ORDER BY version DESC LIMIT 1`,
    [name],
  );
  return rows[0]?.definition;
}
