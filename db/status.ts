import type { Checkpointer } from "../checkpoints/index.js";

/** Where the checkpoints live and what their tables hold; `migrations` is null before the tables are set up. */
export interface DatabaseStatus {
  location: string;
  schema: string;
  migrations: number | null;
  threads: number;
  checkpoints: number;
  bytes: number;
}

export async function databaseStatus(db: Pick<Checkpointer, "pool" | "schema" | "location">): Promise<DatabaseStatus> {
  const base = { location: db.location, schema: db.schema };
  const exists = await db.pool.query<{ t: string | null }>("SELECT to_regclass($1) AS t", [
    `"${db.schema}".checkpoint_migrations`,
  ]);
  if (!exists.rows[0]?.t) return { ...base, migrations: null, threads: 0, checkpoints: 0, bytes: 0 };
  const { rows } = await db.pool.query<{
    migrations: number;
    threads: number;
    checkpoints: number;
    bytes: string | null;
  }>(
    `SELECT (SELECT count(*) FROM "${db.schema}".checkpoint_migrations)::int AS migrations,
            (SELECT count(DISTINCT thread_id) FROM "${db.schema}".checkpoints)::int AS threads,
            (SELECT count(*) FROM "${db.schema}".checkpoints)::int AS checkpoints,
            (SELECT sum(pg_total_relation_size(format('%I.%I', $1::text, t)))::bigint
               FROM unnest(ARRAY['checkpoints', 'checkpoint_blobs', 'checkpoint_writes']) AS t) AS bytes`,
    [db.schema],
  );
  const counts = rows[0];
  if (!counts) throw new Error("the status query returned no row");
  return {
    ...base,
    migrations: counts.migrations,
    threads: counts.threads,
    checkpoints: counts.checkpoints,
    bytes: Number(counts.bytes),
  };
}
