import { randomBytes } from "node:crypto";
import type { PostgresSaver } from "@langchain/langgraph-checkpoint-postgres";
import pg from "pg";
import { openCheckpointer } from "../../checkpoints/index.js";

/**
 * A schema of its own on the test database, so integration tests can run in parallel:
 *
 *   const db = await createTestSchema();
 *   afterAll(() => db.cleanup());
 *   const graph = builder.compile({ checkpointer: db.checkpointer });
 */
export interface TestSchema {
  /** The test database (DATABASE_URL, set by tests/support/global_setup.ts). */
  databaseUrl: string;
  /** `t_` and 12 random hex digits. */
  schema: string;
  /** Set up in `schema`. Leave ending it to cleanup(). */
  checkpointer: PostgresSaver;
  /** Ad-hoc queries on the test database. */
  pool: pg.Pool;
  /** Drops the schema with everything in it and closes the connections; safe to call more than once. */
  cleanup(): Promise<void>;
}

export function testDatabaseUrl(): string {
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error("DATABASE_URL is unset: vitest.config.ts must run tests/support/global_setup.ts");
  return url;
}

/**
 * A login role whose password is a planted secret, and the test database's URL for it (at another
 * port, to go through a proxy). A role of its own, because the server may check passwords (the
 * embedded one does) or trust local connections (the machine's does): either way the URL works.
 * It is no superuser: it may use `schema`'s tables, and create schemas, because the saver's set-up
 * asks for `CREATE SCHEMA IF NOT EXISTS`, which needs that right even when the schema exists.
 * drop() takes back its rights with the role; call it in an afterAll of its own, so that it runs
 * whatever else fails.
 */
export async function plantedPasswordUser(
  password: string,
  schema: string,
): Promise<{ url(port?: number): string; drop(): Promise<void> }> {
  const user = `planted_${randomBytes(4).toString("hex")}`;
  const drop = () => asAdmin(`DROP OWNED BY ${user}`, `DROP ROLE IF EXISTS ${user}`);
  await asAdmin(`CREATE ROLE ${user} LOGIN NOSUPERUSER PASSWORD ${pg.escapeLiteral(password)}`);
  try {
    await asAdmin(
      `DO $$ BEGIN EXECUTE format('GRANT CREATE ON DATABASE %I TO ${user}', current_database()); END $$`,
      `GRANT USAGE, CREATE ON SCHEMA "${schema}" TO ${user}`,
      `GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA "${schema}" TO ${user}`,
      // The lease tokens come from a sequence (checkpoints/thread_lock.ts).
      `GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA "${schema}" TO ${user}`,
    );
  } catch (error) {
    await drop();
    throw error;
  }
  return {
    url(port?: number) {
      const url = new URL(testDatabaseUrl());
      url.username = user;
      url.password = password;
      if (port !== undefined) url.port = String(port);
      return url.toString();
    },
    drop,
  };
}

/** Runs statements on the test database as the user the tests connect as. */
async function asAdmin(...statements: string[]): Promise<void> {
  const client = new pg.Client({ connectionString: testDatabaseUrl() });
  await client.connect();
  try {
    for (const sql of statements) await client.query(sql);
  } finally {
    await client.end();
  }
}

export async function createTestSchema(): Promise<TestSchema> {
  const databaseUrl = testDatabaseUrl();
  const schema = `t_${randomBytes(6).toString("hex")}`;
  const { checkpointer, pool, close } = await openCheckpointer({ databaseUrl, schema });
  let cleaning: Promise<void> | undefined;
  const cleanup = () =>
    (cleaning ??= (async () => {
      try {
        await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      } finally {
        await close();
      }
    })());
  return { databaseUrl, schema, checkpointer, pool, cleanup };
}
