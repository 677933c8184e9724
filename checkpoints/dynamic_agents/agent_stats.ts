import type pg from "pg";
import { openCheckpointer, type CheckpointerOptions } from "../index.js";
import { inTransaction } from "../transaction.js";
import { TemplateFileSchema, type TemplateFile } from "../../state/dynamic_agents/templates.js";

/** A template's recorded history, as this store keeps it. */
export interface TemplateStats {
  creations: number;
  successes: number;
  failures: number;
  /** Mean quality of its successful runs; null before the first. */
  averageQuality: number | null;
  /** Mean seconds of its monitored agents' runs (monitoringEnabled); null before the first. */
  meanSeconds: number | null;
  /** Its monitored agents' runs that ended in an error, and the latest error. */
  errors: number;
  lastError: string | null;
}

/**
 * Per-template statistics that agent selection learns from, shared by every thread and process
 * on the database. One row per agent, keyed by its stable id, so recording an outcome is
 * idempotent: an agent run again after a crash replaces its row instead of counting twice.
 */
export interface AgentOutcome {
  agentId: string;
  threadId: string;
  agentType: string;
  status: "success" | "failed";
  /** The run's quality, for a success. */
  quality: number | null;
  /** Recorded only for an agent whose specification has monitoringEnabled. */
  monitoring?: { startedAt: string; seconds: number; error: string | null };
}

export interface AgentStatsStore {
  recordCreated(agents: readonly { agentId: string; threadId: string; agentType: string }[]): Promise<void>;
  recordOutcome(outcome: AgentOutcome): Promise<void>;
  readStats(): Promise<Record<string, TemplateStats>>;
  /** Templates registered from files, in the workflow's own schema beside the statistics. */
  registerTemplate(template: TemplateFile): Promise<void>;
  readTemplates(): Promise<TemplateFile[]>;
}

export const AGENT_RUNS_TABLE = "agent_runs";
export const AGENT_TEMPLATES_TABLE = "agent_templates";

/** Creates the table if missing; safe to repeat and to run from several processes at once. */
export async function setUpAgentStats(pool: pg.Pool, schema: string): Promise<void> {
  await inTransaction(pool, async (client) => {
    // Concurrent CREATE TABLE IF NOT EXISTS can still collide in the catalog: serialise them.
    await client.query("SELECT pg_advisory_xact_lock(hashtext($1))", [`${schema}.${AGENT_RUNS_TABLE}`]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
    await client.query(`
      CREATE TABLE IF NOT EXISTS "${schema}".${AGENT_RUNS_TABLE} (
        agent_id    text PRIMARY KEY,
        thread_id   text NOT NULL,
        agent_type  text NOT NULL,
        status      text NOT NULL CHECK (status IN ('created', 'success', 'failed')),
        quality     double precision,
        created_at  timestamptz NOT NULL DEFAULT now(),
        finished_at timestamptz
      )`);
    // Monitoring (monitoringEnabled) came later: tables made before it gain its columns here.
    await client.query(`
      ALTER TABLE "${schema}".${AGENT_RUNS_TABLE}
        ADD COLUMN IF NOT EXISTS started_at timestamptz,
        ADD COLUMN IF NOT EXISTS seconds double precision,
        ADD COLUMN IF NOT EXISTS error text`);
    await client.query(`
      CREATE TABLE IF NOT EXISTS "${schema}".${AGENT_TEMPLATES_TABLE} (
        agent_type    text PRIMARY KEY,
        definition    jsonb NOT NULL,
        registered_at timestamptz NOT NULL DEFAULT now()
      )`);
    await client.query(
      `CREATE INDEX IF NOT EXISTS ${AGENT_RUNS_TABLE}_type ON "${schema}".${AGENT_RUNS_TABLE} (agent_type)`,
    );
  });
}

export class PostgresAgentStats implements AgentStatsStore {
  private ready: Promise<void> | undefined;

  constructor(private readonly connection: () => Promise<{ pool: pg.Pool; schema: string }>) {}

  private async table(table: string = AGENT_RUNS_TABLE): Promise<{ pool: pg.Pool; name: string }> {
    const { pool, schema } = await this.connection();
    this.ready ??= setUpAgentStats(pool, schema);
    await this.ready;
    return { pool, name: `"${schema}".${table}` };
  }

  /** Registering a name again replaces its definition: the file is the template's source. */
  async registerTemplate(template: TemplateFile): Promise<void> {
    const { pool, name } = await this.table(AGENT_TEMPLATES_TABLE);
    await pool.query(
      `INSERT INTO ${name} (agent_type, definition) VALUES ($1, $2)
       ON CONFLICT (agent_type) DO UPDATE SET definition = excluded.definition, registered_at = now()`,
      [template.agentType, JSON.stringify(template)],
    );
  }

  async readTemplates(): Promise<TemplateFile[]> {
    const { pool, name } = await this.table(AGENT_TEMPLATES_TABLE);
    const { rows } = await pool.query<{ definition: unknown }>(`SELECT definition FROM ${name} ORDER BY agent_type`);
    return rows.map((row) => TemplateFileSchema.parse(row.definition));
  }

  async recordCreated(agents: readonly { agentId: string; threadId: string; agentType: string }[]): Promise<void> {
    if (!agents.length) return;
    const { pool, name } = await this.table();
    await pool.query(
      `INSERT INTO ${name} (agent_id, thread_id, agent_type, status)
       SELECT agent_id, thread_id, agent_type, 'created' FROM unnest($1::text[], $2::text[], $3::text[]) AS given(agent_id, thread_id, agent_type)
       ON CONFLICT (agent_id) DO NOTHING`,
      [agents.map((a) => a.agentId), agents.map((a) => a.threadId), agents.map((a) => a.agentType)],
    );
  }

  async recordOutcome(outcome: AgentOutcome): Promise<void> {
    const { pool, name } = await this.table();
    const { monitoring } = outcome;
    await pool.query(
      `INSERT INTO ${name} (agent_id, thread_id, agent_type, status, quality, finished_at, started_at, seconds, error)
       VALUES ($1, $2, $3, $4, $5, now(), $6, $7, $8)
       ON CONFLICT (agent_id) DO UPDATE SET status = excluded.status, quality = excluded.quality, finished_at = now(),
         started_at = excluded.started_at, seconds = excluded.seconds, error = excluded.error`,
      [
        outcome.agentId,
        outcome.threadId,
        outcome.agentType,
        outcome.status,
        outcome.quality,
        monitoring?.startedAt ?? null,
        monitoring?.seconds ?? null,
        monitoring?.error ?? null,
      ],
    );
  }

  async readStats(): Promise<Record<string, TemplateStats>> {
    const { pool, name } = await this.table();
    const { rows } = await pool.query<{
      agent_type: string;
      creations: string;
      successes: string;
      failures: string;
      average_quality: number | null;
      mean_seconds: number | null;
      errors: string;
      last_error: string | null;
    }>(
      `SELECT agent_type,
              count(*) AS creations,
              count(*) FILTER (WHERE status = 'success') AS successes,
              count(*) FILTER (WHERE status = 'failed') AS failures,
              avg(quality) FILTER (WHERE status = 'success') AS average_quality,
              avg(seconds) AS mean_seconds,
              count(error) AS errors,
              (array_agg(error ORDER BY finished_at DESC) FILTER (WHERE error IS NOT NULL))[1] AS last_error
       FROM ${name} GROUP BY agent_type`,
    );
    return Object.fromEntries(
      rows.map((row) => [
        row.agent_type,
        {
          creations: Number(row.creations),
          successes: Number(row.successes),
          failures: Number(row.failures),
          averageQuality: row.average_quality,
          meanSeconds: row.mean_seconds,
          errors: Number(row.errors),
          lastError: row.last_error,
        },
      ]),
    );
  }
}

/** Statistics on a pool and schema already open (the CLI's, a test's). */
export function agentStatsOn(pool: pg.Pool, schema: string): PostgresAgentStats {
  return new PostgresAgentStats(async () => ({ pool, schema }));
}

/**
 * Statistics on the database the environment names, opened on first use: for the graph the
 * LangGraph server loads, which has no database of ours handed to it.
 */
export function lazyAgentStats(options: CheckpointerOptions = {}): PostgresAgentStats {
  let opened: Promise<{ pool: pg.Pool; schema: string }> | undefined;
  return new PostgresAgentStats(() => (opened ??= openCheckpointer({ ...options, migrate: false })));
}
