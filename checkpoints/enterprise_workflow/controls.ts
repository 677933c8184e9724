import type pg from "pg";
import { newPool } from "../pool.js";
import {
  MemoryBreakers,
  PostgresBreakers,
  assertPlainSchema,
  migrateBreakers,
  type BreakerStore,
} from "../breakers.js";
import { envValue } from "../../db/env.js";
import { inTransaction } from "../transaction.js";

/**
 * What the engine shares across processes besides checkpoints: pause and cancel requests for
 * running threads, and each webhook endpoint's circuit breaker. Both live in Postgres, next to the
 * checkpoint tables, so an operator's command in one process reaches a run in another, and an open
 * breaker stays open across a restart.
 */

export const SLA_ALERTS_TABLE = "enterprise_sla_alerts";

export const CONTROL_KINDS = ["pause", "cancel"] as const;
export type ControlKind = (typeof CONTROL_KINDS)[number];

export interface ControlRequest {
  /** Increasing: a run remembers the last one it acted on. */
  id: number;
  threadId: string;
  kind: ControlKind;
  actor: string;
  requestedAt: string;
}

/** Pause and cancel requests, and the breakers (checkpoints/breakers.ts) the webhooks go through. */
export interface EnterpriseControlStore extends BreakerStore {
  /** Records a request; the run acts on it at its next step boundary. */
  request(threadId: string, kind: ControlKind, actor: string): Promise<ControlRequest>;
  /**
   * The oldest request newer than `afterId` for the thread, or a cancel for one of its `ancestors`
   * (the threads of the runs it is a detached child of): cancelling a parent cancels its children.
   */
  nextRequest(threadId: string, afterId: number, ancestors?: readonly string[]): Promise<ControlRequest | undefined>;
  /** The newest request id among these threads, 0 when none: a child starts after them, so it does not act on its parent's past requests. */
  latestRequestId(threadIds: readonly string[]): Promise<number>;
  /**
   * Marks the alert firing or resolved; true only for the caller that changed it, so of many
   * processes finding the same breach one alerts, and a resolve follows only a firing alert.
   */
  setAlertFiring(key: string, firing: boolean): Promise<boolean>;
}

/** Creates the tables in `schema` when missing; concurrent callers wait on one advisory lock. */
export async function migrateEnterpriseControls(pool: pg.Pool, schema: string): Promise<void> {
  assertPlainSchema(schema);
  await inTransaction(pool, async (client) => {
    await client.query("SELECT pg_advisory_xact_lock(hashtext('orchestra_enterprise_controls'))");
    await client.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
    await client.query(`CREATE TABLE IF NOT EXISTS "${schema}".enterprise_control_requests (
      id bigserial PRIMARY KEY,
      thread_id text NOT NULL,
      kind text NOT NULL CHECK (kind IN ('pause', 'cancel')),
      actor text NOT NULL,
      requested_at timestamptz NOT NULL DEFAULT now())`);
    await client.query(
      `CREATE INDEX IF NOT EXISTS enterprise_control_requests_thread ON "${schema}".enterprise_control_requests (thread_id, id)`,
    );
    await client.query(`CREATE TABLE IF NOT EXISTS "${schema}".${SLA_ALERTS_TABLE} (
      key text PRIMARY KEY,
      firing boolean NOT NULL,
      changed_at timestamptz NOT NULL DEFAULT now())`);
  });
  await migrateBreakers(pool, schema);
}

interface RequestRow {
  id: string;
  thread_id: string;
  kind: ControlKind;
  actor: string;
  requested_at: Date;
}

const toRequest = (row: RequestRow): ControlRequest => ({
  id: Number(row.id),
  threadId: row.thread_id,
  kind: row.kind,
  actor: row.actor,
  requestedAt: row.requested_at.toISOString(),
});

export class PostgresEnterpriseControls extends PostgresBreakers implements EnterpriseControlStore {
  private readonly requestsTable: string;
  private readonly alertsTable: string;
  private readonly requests: pg.Pool;

  /** Call migrateEnterpriseControls first, or use openEnterpriseControls. */
  constructor(pool: pg.Pool, schema: string) {
    super(pool, schema);
    this.requests = pool;
    this.requestsTable = `"${schema}".enterprise_control_requests`;
    this.alertsTable = `"${schema}".${SLA_ALERTS_TABLE}`;
  }

  async setAlertFiring(key: string, firing: boolean): Promise<boolean> {
    const { rowCount } = firing
      ? await this.requests.query(
          `INSERT INTO ${this.alertsTable} (key, firing) VALUES ($1, true)
           ON CONFLICT (key) DO UPDATE SET firing = true, changed_at = now() WHERE NOT ${this.alertsTable}.firing`,
          [key],
        )
      : await this.requests.query(
          `UPDATE ${this.alertsTable} SET firing = false, changed_at = now() WHERE key = $1 AND firing`,
          [key],
        );
    return rowCount === 1;
  }

  async request(threadId: string, kind: ControlKind, actor: string): Promise<ControlRequest> {
    const { rows } = await this.requests.query<RequestRow>(
      `INSERT INTO ${this.requestsTable} (thread_id, kind, actor) VALUES ($1, $2, $3) RETURNING *`,
      [threadId, kind, actor],
    );
    return toRequest(rows[0]!);
  }

  async nextRequest(
    threadId: string,
    afterId: number,
    ancestors: readonly string[] = [],
  ): Promise<ControlRequest | undefined> {
    const { rows } = await this.requests.query<RequestRow>(
      `SELECT * FROM ${this.requestsTable}
       WHERE id > $2 AND (thread_id = $1 OR (thread_id = ANY($3::text[]) AND kind = 'cancel')) ORDER BY id LIMIT 1`,
      [threadId, afterId, ancestors],
    );
    return rows[0] && toRequest(rows[0]);
  }

  async latestRequestId(threadIds: readonly string[]): Promise<number> {
    const { rows } = await this.requests.query<{ id: string | null }>(
      `SELECT max(id) AS id FROM ${this.requestsTable} WHERE thread_id = ANY($1::text[])`,
      [threadIds],
    );
    return Number(rows[0]?.id ?? 0);
  }
}

/** For runs without a database (a served graph on an in-memory saver): controls reach only this process. */
export class MemoryEnterpriseControls extends MemoryBreakers implements EnterpriseControlStore {
  private readonly requests: ControlRequest[] = [];
  private readonly firing = new Set<string>();

  async setAlertFiring(key: string, firing: boolean): Promise<boolean> {
    if (this.firing.has(key) === firing) return false;
    if (firing) this.firing.add(key);
    else this.firing.delete(key);
    return true;
  }

  async request(threadId: string, kind: ControlKind, actor: string): Promise<ControlRequest> {
    const request = { id: this.requests.length + 1, threadId, kind, actor, requestedAt: new Date().toISOString() };
    this.requests.push(request);
    return request;
  }

  async nextRequest(
    threadId: string,
    afterId: number,
    ancestors: readonly string[] = [],
  ): Promise<ControlRequest | undefined> {
    return this.requests.find(
      (request) =>
        request.id > afterId &&
        (request.threadId === threadId || (request.kind === "cancel" && ancestors.includes(request.threadId))),
    );
  }

  async latestRequestId(threadIds: readonly string[]): Promise<number> {
    return Math.max(
      0,
      ...this.requests.filter((request) => threadIds.includes(request.threadId)).map((request) => request.id),
    );
  }
}

export interface SlaAlertState {
  key: string;
  firing: boolean;
  changedAt: string;
}

/** Every SLA alert that has fired, firing ones first. */
export async function listSlaAlerts(pool: pg.Pool, schema: string): Promise<SlaAlertState[]> {
  const { rows } = await pool.query<{ key: string; firing: boolean; changed_at: Date }>(
    `SELECT key, firing, changed_at FROM "${schema}".${SLA_ALERTS_TABLE} ORDER BY firing DESC, changed_at DESC`,
  );
  return rows.map((row) => ({ key: row.key, firing: row.firing, changedAt: row.changed_at.toISOString() }));
}

export interface OpenedControls {
  controls: EnterpriseControlStore;
  close(): Promise<void>;
}

/** Controls in `schema` of the database at `databaseUrl` (default: DATABASE_URL and ORCHESTRA_DB_SCHEMA), tables created when missing. */
export async function openEnterpriseControls(
  options: { databaseUrl?: string; schema?: string } = {},
): Promise<OpenedControls> {
  const databaseUrl = options.databaseUrl ?? envValue("DATABASE_URL");
  if (databaseUrl === undefined) return { controls: new MemoryEnterpriseControls(), close: async () => undefined };
  // allowExitOnIdle: a process that has finished its run exits without closing this pool first.
  const pool = newPool({ connectionString: databaseUrl, max: 4, allowExitOnIdle: true });
  const schema = options.schema ?? envValue("ORCHESTRA_DB_SCHEMA") ?? "public";
  try {
    await migrateEnterpriseControls(pool, schema);
  } catch (error) {
    await pool.end();
    throw error;
  }
  return { controls: new PostgresEnterpriseControls(pool, schema), close: () => pool.end() };
}
