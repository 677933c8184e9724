import type pg from "pg";

/**
 * What each process wrote, and when it took a lease: triggers of the soak's own on its own
 * database (never the product's code) record every checkpoint, write and lease acquisition with
 * the writer's application_name, which the soak sets per process (PGAPPNAME). The sequence orders
 * them as Postgres ran them: a write holds its lease row FOR SHARE, so a takeover is numbered after
 * any write that saw the old lease.
 */
export function auditSql(schema: string): string[] {
  const audit = `"${schema}_audit"`;
  const table = (name: string) => `"${schema}".${name}`;
  return [
    `CREATE SCHEMA IF NOT EXISTS ${audit}`,
    `CREATE TABLE IF NOT EXISTS ${audit}.rows (
      seq bigserial PRIMARY KEY,
      at timestamptz NOT NULL DEFAULT clock_timestamp(),
      app text NOT NULL DEFAULT current_setting('application_name'),
      kind text NOT NULL,
      thread_id text NOT NULL,
      checkpoint_id text,
      task_id text,
      channel text)`,
    `CREATE OR REPLACE FUNCTION ${audit}.record() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_TABLE_NAME = 'thread_leases' THEN
        IF TG_OP = 'INSERT' OR OLD.token IS DISTINCT FROM NEW.token THEN
          INSERT INTO ${audit}.rows (kind, thread_id) VALUES ('lease', NEW.thread_id);
        END IF;
      ELSIF TG_TABLE_NAME = 'checkpoints' THEN
        INSERT INTO ${audit}.rows (kind, thread_id, checkpoint_id) VALUES ('checkpoint', NEW.thread_id, NEW.checkpoint_id);
      ELSE
        INSERT INTO ${audit}.rows (kind, thread_id, checkpoint_id, task_id, channel)
          VALUES ('write', NEW.thread_id, NEW.checkpoint_id, NEW.task_id, NEW.channel);
      END IF;
      RETURN NULL;
    END $$`,
    ...["checkpoints", "checkpoint_writes", "thread_leases"].flatMap((name) => [
      `DROP TRIGGER IF EXISTS chaos_audit ON ${table(name)}`,
      `CREATE TRIGGER chaos_audit AFTER INSERT OR UPDATE ON ${table(name)} FOR EACH ROW EXECUTE FUNCTION ${audit}.record()`,
    ]),
  ];
}

export interface FencedWrite {
  seq: string;
  at: Date;
  app: string;
  kind: string;
  thread_id: string;
  holder: string;
}

/**
 * Checkpoints and writes made by a process after another took the thread's lease from it: the
 * latest lease taken before the write is another's, and the writer had held one before that.
 */
export async function fencedWrites(db: pg.Pool, schema: string): Promise<FencedWrite[]> {
  const rows = `"${schema}_audit".rows`;
  const { rows: found } = await db.query<FencedWrite>(
    `SELECT w.seq, w.at, w.app, w.kind, w.thread_id, l.app AS holder FROM ${rows} w
     JOIN LATERAL (SELECT app, seq FROM ${rows} l WHERE l.kind = 'lease' AND l.thread_id = w.thread_id AND l.seq < w.seq
                   ORDER BY l.seq DESC LIMIT 1) l ON true
     WHERE w.kind IN ('checkpoint', 'write') AND l.app <> w.app
       AND EXISTS (SELECT 1 FROM ${rows} o WHERE o.kind = 'lease' AND o.thread_id = w.thread_id AND o.app = w.app AND o.seq < l.seq)
     ORDER BY w.seq`,
  );
  return found;
}

export interface CompletedTask {
  task_id: string;
  thread_id: string;
  /** When its first write was saved. */
  saved_at: Date;
}

/**
 * Tasks whose result is saved: regular writes only. A task with an error, interrupt or resume
 * write runs again by design (a retry, the node after a human's answer).
 */
export async function completedTasks(db: pg.Pool, schema: string): Promise<Map<string, CompletedTask>> {
  const { rows } = await db.query<CompletedTask>(
    `SELECT task_id, min(thread_id) AS thread_id, min(at) AS saved_at FROM "${schema}_audit".rows WHERE kind = 'write'
     GROUP BY task_id HAVING bool_and(channel NOT LIKE '\\_\\_%')`,
  );
  return new Map(rows.map((row) => [row.task_id, row]));
}

/** Who held each thread's lease when: the latest acquisition before a moment names the holder. */
export async function leaseHistory(db: pg.Pool, schema: string): Promise<Map<string, { at: Date; app: string }[]>> {
  const { rows } = await db.query<{ thread_id: string; at: Date; app: string }>(
    `SELECT thread_id, at, app FROM "${schema}_audit".rows WHERE kind = 'lease' ORDER BY seq`,
  );
  const history = new Map<string, { at: Date; app: string }[]>();
  for (const row of rows) history.set(row.thread_id, [...(history.get(row.thread_id) ?? []), row]);
  return history;
}

/** What the soak's checks had to work with: rows audited, leases moved between processes, runs taken over. */
export async function coverage(db: pg.Pool, schema: string): Promise<Record<string, number>> {
  const rows = `"${schema}_audit".rows`;
  const { rows: found } = await db.query<Record<string, number>>(
    `SELECT (SELECT count(*)::int FROM ${rows} WHERE kind = 'checkpoint') AS checkpoints,
            (SELECT count(*)::int FROM ${rows} WHERE kind = 'write') AS writes,
            (SELECT count(*)::int FROM ${rows} WHERE kind = 'lease') AS leases,
            (SELECT count(*)::int FROM (SELECT app, lag(app) OVER (PARTITION BY thread_id ORDER BY seq) AS before FROM ${rows} WHERE kind = 'lease') l
              WHERE l.before IS NOT NULL AND l.before <> l.app) AS "leases taken from another process",
            (SELECT count(*)::int FROM "${schema}".runs) AS runs,
            (SELECT count(*)::int FROM "${schema}".runs WHERE attempt > 1) AS "runs taken over"`,
  );
  return found[0]!;
}

/** The live leases by holder: the process that took each one last. */
export async function leasesHeld(db: pg.Pool, schema: string): Promise<Map<string, number>> {
  const { rows } = await db.query<{ app: string; n: number }>(
    `SELECT a.app, count(*)::int AS n FROM "${schema}".thread_leases l
     JOIN LATERAL (SELECT app FROM "${schema}_audit".rows r WHERE r.kind = 'lease' AND r.thread_id = l.thread_id ORDER BY seq DESC LIMIT 1) a ON true
     WHERE l.expires_at > clock_timestamp() GROUP BY a.app`,
  );
  return new Map(rows.map((row) => [row.app, row.n]));
}
