import net, { type AddressInfo } from "node:net";
import { inspect } from "node:util";
import { emptyCheckpoint, uuid6 } from "@langchain/langgraph-checkpoint";
import pg from "pg";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { maskDatabaseUrl, openCheckpointer } from "../checkpoints/index.js";
import { DatabaseUnavailableError, InputError } from "../state/shared/errors.js";
import { createTestSchema, testDatabaseUrl, type TestSchema } from "./support/database.js";

const TABLES = ["checkpoint_blobs", "checkpoint_migrations", "checkpoint_writes", "checkpoints", "thread_leases"];

async function query<Row extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<Row[]> {
  const client = new pg.Client({ connectionString: testDatabaseUrl() });
  await client.connect();
  try {
    return (await client.query<Row>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

async function tablesIn(schema: string): Promise<string[]> {
  const rows = await query<{ table_name: string }>(
    "SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name",
    [schema],
  );
  return rows.map((row) => row.table_name);
}

/** The error `promise` rejects with, so its class and message can be checked. */
async function rejection(promise: Promise<unknown>): Promise<Error> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  if (!(error instanceof Error)) throw new Error("expected a rejection with an Error");
  return error;
}

/** A loopback port nothing listens on (it was free a moment ago). */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

describe("the test database", () => {
  it("reaches this worker as DATABASE_URL", () => {
    expect(process.env.DATABASE_URL).toMatch(/^postgres(ql)?:\/\//);
  });
});

describe("openCheckpointer with a database URL", () => {
  let db: TestSchema;
  beforeAll(async () => {
    db = await createTestSchema();
  });
  afterAll(() => db?.cleanup());
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it("creates the schema and the checkpoint tables in it", async () => {
    expect(await tablesIn(db.schema)).toEqual(TABLES);
  });

  it("sets up idempotently, again in the same process and from a second open", async () => {
    await db.checkpointer.setup();
    const again = await openCheckpointer({ databaseUrl: db.databaseUrl, schema: db.schema });
    await again.checkpointer.setup();
    await again.close();

    expect(await tablesIn(db.schema)).toEqual(TABLES);
    const versions = await query<{ v: number }>(`SELECT v FROM "${db.schema}".checkpoint_migrations ORDER BY v`);
    expect(versions.map((row) => row.v)).toEqual([0, 1, 2, 3, 4]);
  });

  it("round-trips a checkpoint", async () => {
    const config = { configurable: { thread_id: "thread-1", checkpoint_ns: "" } };
    const checkpoint = {
      ...emptyCheckpoint(),
      id: uuid6(-1),
      channel_values: { report: "draft", scores: [0.8, 0.9] },
      channel_versions: { report: 1, scores: 1 },
    };
    const saved = await db.checkpointer.put(
      config,
      checkpoint,
      { source: "loop", step: 1, parents: {} },
      { report: 1, scores: 1 },
    );

    const tuple = await db.checkpointer.getTuple(saved);
    expect(tuple?.checkpoint.id).toBe(checkpoint.id);
    expect(tuple?.checkpoint.channel_values).toEqual({ report: "draft", scores: [0.8, 0.9] });
    expect(tuple?.metadata).toMatchObject({ source: "loop", step: 1 });
    expect((await db.checkpointer.getTuple(config))?.checkpoint.id).toBe(checkpoint.id);
  });

  it("takes the URL and schema from the environment and keeps the password out of sight", async () => {
    // A server that needs no password ignores one, so there is always a password to look for.
    const url = new URL(db.databaseUrl);
    url.password ||= "s3cret-planted";
    const schema = `${db.schema}_env`;
    vi.stubEnv("DATABASE_URL", url.toString());
    vi.stubEnv("ORCHESTRA_DB_SCHEMA", schema);
    const opened = await openCheckpointer();
    try {
      expect(await tablesIn(schema)).toEqual(TABLES);
      expect(opened.location).toBe(maskDatabaseUrl(url.toString()));
      expect(inspect(opened, { depth: 12 })).not.toContain(`:${url.password}@`);
    } finally {
      await opened.pool.query(`DROP SCHEMA "${schema}" CASCADE`);
      await opened.close();
    }
  });

  it("sets up a fresh schema opened by several processes at once", async () => {
    // Distinct URLs (same database) defeat the per-process memo, standing in for separate processes.
    const schema = `${db.schema}_race`;
    const urls = ["a", "b", "c", "d", "e", "f"].map((name) => {
      const url = new URL(db.databaseUrl);
      url.searchParams.set("application_name", `race_${name}`);
      return url.toString();
    });
    const opened = await Promise.all(urls.map((databaseUrl) => openCheckpointer({ databaseUrl, schema })));
    try {
      expect(await tablesIn(schema)).toEqual(TABLES);
    } finally {
      await opened[0]!.pool.query(`DROP SCHEMA "${schema}" CASCADE`);
      await Promise.all(opened.map((each) => each.close()));
    }
  });

  it("rejects a schema that is not a plain lowercase identifier", async () => {
    for (const schema of ['x"; DROP TABLE y; --', "Checkpoints", "pg_orchestra", ""]) {
      const error = await rejection(openCheckpointer({ databaseUrl: db.databaseUrl, schema }));
      expect(error).toBeInstanceOf(InputError);
      expect(error.message).toMatch(/^ORCHESTRA_DB_SCHEMA must be a plain lowercase identifier/);
    }
  });
});

describe("openCheckpointer with a bad database URL", () => {
  it("rejects a URL that is not postgres:// with an InputError that hides the password", async () => {
    for (const url of [
      "mysql://admin:hunter2@db.example.com/app",
      "postgres//admin:hunter2@db.example.com/app",
      "admin:hunter2@db.example.com/app",
      "hunter2",
    ]) {
      const error = await rejection(openCheckpointer({ databaseUrl: url }));
      expect(error).toBeInstanceOf(InputError);
      expect(error.message).toMatch(/^DATABASE_URL /);
      expect(error.message).not.toContain("hunter2");
      expect(error.message).not.toContain("\n");
    }
  });

  it("names the masked address of an unreachable database, with a hint, in one line", async () => {
    const port = await closedPort();
    const error = await rejection(
      openCheckpointer({ databaseUrl: `postgres://orchestra:s3cret-planted@127.0.0.1:${port}/orchestra` }),
    );
    expect(error).toBeInstanceOf(DatabaseUnavailableError);
    expect(error.message).toContain(`postgres://orchestra:***@127.0.0.1:${port}/orchestra`);
    expect(error.message).toContain("docker compose up -d postgres");
    expect(error.message).toContain("unset DATABASE_URL");
    expect(error.message).not.toContain("s3cret-planted");
    expect(error.message).not.toContain("\n");
  });

  it("passes on the server's reason when it refuses the connection", async () => {
    const url = withDatabase(testDatabaseUrl(), "no_such_database_for_orchestra");
    const error = await rejection(openCheckpointer({ databaseUrl: url }));
    expect(error).toBeInstanceOf(DatabaseUnavailableError);
    expect(error.message).toContain(maskDatabaseUrl(url));
    expect(error.message).toContain('database "no_such_database_for_orchestra" does not exist');
  });
});

describe("maskDatabaseUrl", () => {
  it.each([
    ["postgres://orchestra:s3cret@db.internal:5432/orchestra", "postgres://orchestra:***@db.internal:5432/orchestra"],
    ["postgresql://u:p%40ss@h/db?sslmode=require", "postgresql://u:***@h/db?sslmode=require"],
    ["postgres://u:p@ss@h/db", "postgres://u:***@h/db"],
    ["postgres://h/db?password=s3cret&application_name=x", "postgres://h/db?password=***&application_name=x"],
    ["postgres://u@h:5432/db", "postgres://u@h:5432/db"],
  ])("masks %s", (url, masked) => {
    expect(maskDatabaseUrl(url)).toBe(masked);
  });

  it.each(["", "not a url", "admin:s3cret@db/app", "postgres://u:s3cret@[::1/db", "postgres://u:12/s3cret@h/db"])(
    "gives a placeholder for %j",
    (garbage) => {
      const masked = maskDatabaseUrl(garbage);
      expect(masked).toBe("<unparseable database URL>");
    },
  );
});
