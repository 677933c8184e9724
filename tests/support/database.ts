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
  /** The test database (DATABASE_URL, set by tests/support/globalSetup.ts). */
  databaseUrl: string;
  /** `t_` and 12 random hex digits. */
  schema: string;
  /** Set up in `schema`. Leave ending it to cleanup(). */
  checkpointer: PostgresSaver;
  /** Drops the schema with everything in it and closes the connections; safe to call more than once. */
  cleanup(): Promise<void>;
}

export function testDatabaseUrl(): string {
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error("DATABASE_URL is unset: vitest.config.ts must run tests/support/globalSetup.ts");
  return url;
}

/**
 * A login role whose password is a planted secret, and the test database's URL for it (at another
 * port, to go through a proxy). A role of its own, because the server may check passwords (the
 * embedded one does) or trust local connections (the machine's does): either way the URL works.
 */
export async function plantedPasswordUser(password: string): Promise<{ url(port?: number): string; drop(): Promise<void> }> {
  const user = `planted_${randomBytes(4).toString("hex")}`;
  const admin = new pg.Client({ connectionString: testDatabaseUrl() });
  await admin.connect();
  try {
    await admin.query(`CREATE ROLE ${user} LOGIN SUPERUSER PASSWORD ${pg.escapeLiteral(password)}`);
  } finally {
    await admin.end();
  }
  return {
    url(port?: number) {
      const url = new URL(testDatabaseUrl());
      url.username = user;
      url.password = password;
      if (port !== undefined) url.port = String(port);
      return url.toString();
    },
    async drop() {
      const client = new pg.Client({ connectionString: testDatabaseUrl() });
      await client.connect();
      try {
        await client.query(`DROP ROLE IF EXISTS ${user}`);
      } finally {
        await client.end();
      }
    },
  };
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
  return { databaseUrl, schema, checkpointer, cleanup };
}
