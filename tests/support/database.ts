import { randomBytes } from "node:crypto";
import type { PostgresSaver } from "@langchain/langgraph-checkpoint-postgres";
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
 * The test database's URL with a password planted in it (and another port, to go through a
 * proxy). The test server trusts local connections and ignores the password, so any will do.
 */
export function testDatabaseUrlWith(password: string, port?: number): string {
  const url = new URL(testDatabaseUrl());
  url.password = password;
  if (!url.username) url.username = "postgres";
  if (port !== undefined) url.port = String(port);
  return url.toString();
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
