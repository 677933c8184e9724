import type { PostgresSaver } from "@langchain/langgraph-checkpoint-postgres";
import pg from "pg";
import { checkDatabaseUrl, maskDatabaseUrl } from "../db/database_url.js";
import { displayPath, startEmbeddedPostgres, type EmbeddedPostgresOptions } from "../db/embedded.js";
import { envValue } from "../db/env.js";
import { newPool } from "./pool.js";
import { leaseTablesSql, ThreadFence } from "./thread_lock.js";
import { DatabaseUnavailableError, InputError, messageOf } from "../state/shared/errors.js";

export { maskDatabaseUrl } from "../db/database_url.js";
export {
  startEmbeddedPostgres,
  type EmbeddedPostgres,
  type EmbeddedPostgresOptions,
} from "../db/embedded.js";

export interface CheckpointerOptions {
  /** Default: env DATABASE_URL. Without either, the embedded Postgres is started and used. */
  databaseUrl?: string;
  /** Schema holding the checkpoint tables. Default: env ORCHESTRA_DB_SCHEMA, then "public". */
  schema?: string;
  /** Progress of the embedded Postgres (its first start takes seconds); nothing is printed otherwise. */
  onProgress?: (message: string) => void;
  /** Where the embedded Postgres keeps its data and listens; used only when there is no database URL. */
  embedded?: Pick<EmbeddedPostgresOptions, "dataDir" | "port">;
  /** Default true: create or migrate the checkpoint tables. False only checks the database answers. */
  migrate?: boolean;
  /**
   * One pool of this many connections for everything, the checkpointer's statements included (the
   * server: its runs hold no connection, they borrow one per statement). Default: the checkpointer
   * has a pool of CHECKPOINTER_CONNECTIONS and `pool` is uncapped.
   */
  maxConnections?: number;
}

/** The database the commands and the server keep their state in. */
export interface Database {
  /**
   * For the commands' and the server's own statements. Nothing holds a connection for a run's
   * length (a thread is owned through its lease row), so one small pool serves any number of runs.
   */
  pool: pg.Pool;
  /** The schema holding the checkpoint tables. */
  schema: string;
  /** Where checkpoints live, safe to print: a masked URL, or "embedded (.data/postgres, port 54329)". */
  location: string;
  /** Ends the pool and stops the embedded Postgres if this call started it; safe to call more than once. */
  close(): Promise<void>;
}

export interface Checkpointer extends Database {
  /** Set up and ready to use. */
  checkpointer: PostgresSaver;
  /** The thread leases this process holds: the checkpointer refuses a thread's writes once its lease is lost. */
  fence: ThreadFence;
}

const CONNECT_TIMEOUT_MS = 10_000;
/**
 * How long a statement of a process sharing one small pool between many runs (the server) may
 * wait for its turn, a connection included: hundreds of runs writing at once on a loaded machine
 * queue for seconds, which is back-pressure, not a lost database.
 */
const SHARED_POOL_WAIT_MS = 120_000;
// pg's default: checkpoint reads and writes are short, so runs share these.
export const CHECKPOINTER_CONNECTIONS = 10;
// Lowercase only: PostgresSaver quotes the schema, so "Foo" would be a different schema from Foo.
const PLAIN_IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;
const UNREACHABLE_HINT =
  "start it with `docker compose up -d postgres`, or unset DATABASE_URL to use the embedded Postgres";

/** Where the options point: the schema checked, the URL (the embedded Postgres started when none is configured). */
async function locate(options: CheckpointerOptions) {
  const schema = checkSchema(options.schema ?? envValue("ORCHESTRA_DB_SCHEMA") ?? "public");
  const configuredUrl = options.databaseUrl ?? envValue("DATABASE_URL");
  if (configuredUrl !== undefined) checkDatabaseUrl(configuredUrl);

  const embedded =
    configuredUrl === undefined
      ? await startEmbeddedPostgres({ ...options.embedded, onProgress: options.onProgress })
      : undefined;
  const url = configuredUrl ?? embedded!.databaseUrl;
  const location = embedded
    ? `embedded (${displayPath(embedded.dataDir)}, port ${embedded.port})`
    : maskDatabaseUrl(url);
  return { schema, url, embedded, location };
}

/**
 * The database alone, checked to answer, without the checkpointer: for reads that go straight to
 * the tables (`orchestra threads`), which then load none of LangGraph's checkpoint modules.
 */
export async function openDatabase(options: Omit<CheckpointerOptions, "migrate"> = {}): Promise<Database> {
  const { schema, url, embedded, location } = await locate(options);
  const pool = createPool(url, options.maxConnections ?? Infinity);
  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      if (!pool.ending) await pool.end();
      await embedded?.stop();
    })());
  try {
    await checkReachable(pool, location, !embedded);
  } catch (error) {
    await close();
    throw error;
  }
  return { pool, schema, location, close };
}

/** Opens a Postgres-backed LangGraph checkpointer, creating its schema and tables on first use. */
export async function openCheckpointer(options: CheckpointerOptions = {}): Promise<Checkpointer> {
  const { schema, url, embedded, location } = await locate(options);
  const shared = options.maxConnections !== undefined;
  const pool = createPool(url, options.maxConnections ?? Infinity, shared ? SHARED_POOL_WAIT_MS : CONNECT_TIMEOUT_MS);
  const saverPool = shared ? pool : createPool(url, CHECKPOINTER_CONNECTIONS);
  const fence = new ThreadFence();
  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      // checkpointer.end() may have ended its pool already; ending twice throws.
      await Promise.all([...new Set([saverPool, pool])].filter((p) => !p.ending).map((p) => p.end()));
      await embedded?.stop();
    })());

  let checkpointer: PostgresSaver;
  try {
    // Loaded here, not at the top: the saver pulls in LangGraph's checkpoint modules, which openDatabase's callers skip.
    const { GuardedPostgresSaver } = await import("./guarded_saver.js");
    checkpointer = new GuardedPostgresSaver(saverPool, schema, location, fence);
    if (options.migrate === false) await checkReachable(saverPool, location, !embedded);
    else await setUpOnce(url, schema, () => setUp(saverPool, checkpointer, schema, location, !embedded));
  } catch (error) {
    await close();
    throw error;
  }
  return { checkpointer, fence, pool, schema, location, close };
}

function checkSchema(schema: string): string {
  if (!PLAIN_IDENTIFIER.test(schema) || schema.startsWith("pg_")) {
    throw new InputError(
      `ORCHESTRA_DB_SCHEMA must be a plain lowercase identifier (a-z, 0-9, _; at most 63 characters; not pg_*), got ${JSON.stringify(schema)}`,
    );
  }
  return schema;
}

function createPool(url: string, max: number, waitMs = CONNECT_TIMEOUT_MS): pg.Pool {
  const pool = newPool({ connectionString: url, connectionTimeoutMillis: waitMs, max });
  // pg hides the password from inspection but not the connection string that carries it; clients
  // still read the property, hidden or not.
  Object.defineProperty(pool.options, "connectionString", { enumerable: false });
  return pool;
}

/** setUp promises by URL and schema: the tables need creating once per process, not per open. */
const setUps = new Map<string, Promise<void>>();

function setUpOnce(url: string, schema: string, run: () => Promise<void>): Promise<void> {
  const key = `${schema}\n${url}`;
  let setUp = setUps.get(key);
  if (!setUp) {
    setUp = run();
    setUps.set(key, setUp);
    // A failure (database down) must not stick: the next open tries again.
    setUp.catch(() => setUps.delete(key));
  }
  return setUp;
}

async function setUp(
  pool: pg.Pool,
  checkpointer: PostgresSaver,
  schema: string,
  location: string,
  configured: boolean,
): Promise<void> {
  let client: pg.PoolClient;
  try {
    client = await pool.connect();
  } catch (error) {
    throw unavailable(error, location, configured);
  }
  try {
    // PostgresSaver.setup() migrates without a lock, so two processes opening a fresh schema at
    // once would collide. It also creates the schema itself (quoted, not escaped: hence checkSchema).
    await client.query("SELECT pg_advisory_lock(hashtext($1))", [`langgraph-orchestra:setup:${schema}`]);
    await checkpointer.setup();
    for (const statement of leaseTablesSql(schema)) await client.query(statement);
  } catch (error) {
    throw new Error(`Could not set up the checkpoint tables in schema "${schema}" at ${location}: ${messageOf(error)}`);
  } finally {
    // Dropping the connection releases the advisory lock with it.
    client.release(true);
  }
}

async function checkReachable(pool: pg.Pool, location: string, configured: boolean): Promise<void> {
  try {
    (await pool.connect()).release();
  } catch (error) {
    throw unavailable(error, location, configured);
  }
}

function unavailable(error: unknown, location: string, configured: boolean): DatabaseUnavailableError {
  // The server answered but said no (wrong password, no such database): its message is the reason.
  if (error instanceof pg.DatabaseError) {
    return new DatabaseUnavailableError(`The database at ${location} refused the connection: ${error.message}`);
  }
  const hint = configured ? `; ${UNREACHABLE_HINT}` : "";
  return new DatabaseUnavailableError(`Cannot reach the database at ${location} (${messageOf(error)})${hint}`);
}
