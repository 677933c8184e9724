import { BrokenCircuitError, CircuitState, ConsecutiveBreaker, circuitBreaker, handleWhen } from "cockatiel";
import type pg from "pg";
import { newPool } from "./pool.js";
import { z } from "zod";
import { envValue } from "../db/env.js";
import { inTransaction } from "./transaction.js";

/**
 * Circuit breakers for what a run calls outside the process (webhook endpoints, model endpoints,
 * MCP servers), kept in Postgres next to the checkpoints: an endpoint that fails for one process
 * is refused by all of them, and an open breaker stays open across a restart.
 */

/** A breaker's state as cockatiel serialises it, with `openedAt` on the store's clock. */
export interface StoredBreaker {
  state: unknown;
  /** Bumped on every save: a half-open trial is claimed by a compare-and-set on it. */
  version: number;
}

export interface BreakerStore {
  loadBreaker(endpoint: string): Promise<StoredBreaker | undefined>;
  /** Saves when the stored version is still `expectedVersion` (undefined: no row yet); false when another process saved first. */
  saveBreaker(endpoint: string, state: unknown, expectedVersion: number | undefined): Promise<boolean>;
}

/** The table's name predates model and MCP breakers: it is kept so existing databases need no migration. */
export const BREAKERS_TABLE = "enterprise_breakers";

/** A schema name quoted into SQL: plain lowercase identifiers only. */
export function assertPlainSchema(schema: string): void {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema))
    throw new Error(`schema '${schema}' must be a plain lowercase identifier`);
}

/** Creates the table in `schema` when missing; concurrent callers wait on one advisory lock. */
export async function migrateBreakers(pool: pg.Pool, schema: string): Promise<void> {
  assertPlainSchema(schema);
  await inTransaction(pool, async (client) => {
    await client.query("SELECT pg_advisory_xact_lock(hashtext('orchestra_breakers'))");
    await client.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
    await client.query(`CREATE TABLE IF NOT EXISTS "${schema}".${BREAKERS_TABLE} (
      endpoint text PRIMARY KEY,
      state jsonb NOT NULL,
      version integer NOT NULL,
      updated_at timestamptz NOT NULL DEFAULT now())`);
  });
}

export class PostgresBreakers implements BreakerStore {
  private readonly table: string;

  /** Call migrateBreakers first. */
  constructor(
    private readonly pool: pg.Pool,
    schema: string,
  ) {
    this.table = `"${schema}".${BREAKERS_TABLE}`;
  }

  async loadBreaker(endpoint: string): Promise<StoredBreaker | undefined> {
    const { rows } = await this.pool.query<StoredBreaker>(
      `SELECT state, version FROM ${this.table} WHERE endpoint = $1`,
      [endpoint],
    );
    return rows[0];
  }

  async saveBreaker(endpoint: string, state: unknown, expectedVersion: number | undefined): Promise<boolean> {
    const json = JSON.stringify(state);
    const result =
      expectedVersion === undefined
        ? await this.pool.query(
            `INSERT INTO ${this.table} (endpoint, state, version) VALUES ($1, $2, 1) ON CONFLICT (endpoint) DO NOTHING`,
            [endpoint, json],
          )
        : await this.pool.query(
            `UPDATE ${this.table} SET state = $2, version = version + 1, updated_at = now() WHERE endpoint = $1 AND version = $3`,
            [endpoint, json, expectedVersion],
          );
    return result.rowCount === 1;
  }
}

/** Without a database: breakers reach only this process. */
export class MemoryBreakers implements BreakerStore {
  private readonly breakers = new Map<string, StoredBreaker>();

  async loadBreaker(endpoint: string): Promise<StoredBreaker | undefined> {
    return this.breakers.get(endpoint);
  }

  async saveBreaker(endpoint: string, state: unknown, expectedVersion: number | undefined): Promise<boolean> {
    if (this.breakers.get(endpoint)?.version !== expectedVersion) return false;
    this.breakers.set(endpoint, { state, version: (expectedVersion ?? 0) + 1 });
    return true;
  }
}

const opened = new Map<string, Promise<BreakerStore>>();

/**
 * The process's breakers for model endpoints and MCP servers, in the checkpoints' database
 * (DATABASE_URL, ORCHESTRA_DB_SCHEMA), opened on first use; in memory without a database.
 */
export function processBreakers(): Promise<BreakerStore> {
  const databaseUrl = envValue("DATABASE_URL");
  if (databaseUrl === undefined) return Promise.resolve(memoryBreakers);
  const schema = envValue("ORCHESTRA_DB_SCHEMA") ?? "public";
  const key = `${databaseUrl} ${schema}`;
  let store = opened.get(key);
  if (!store) {
    // allowExitOnIdle: a process that has finished its run exits without closing this pool first.
    const pool = newPool({ connectionString: databaseUrl, max: 2, allowExitOnIdle: true });
    store = migrateBreakers(pool, schema).then(
      () => new PostgresBreakers(pool, schema),
      async (error: unknown) => {
        opened.delete(key);
        await pool.end();
        throw error;
      },
    );
    opened.set(key, store);
  }
  return store;
}
const memoryBreakers = new MemoryBreakers();

/** Breaker settings, from the environment. */
export const BreakerSettingsSchema = z.object({
  /** Consecutive failures that open a breaker. */
  ORCHESTRA_BREAKER_FAILURES: z.coerce.number().int().min(1).max(1000).default(5),
  /** How long an open breaker refuses calls before it lets one trial call through. */
  ORCHESTRA_BREAKER_COOLDOWN_MS: z.coerce.number().int().min(0).max(86_400_000).default(30_000),
});
export const breakerSettings = (env: NodeJS.ProcessEnv = process.env) => BreakerSettingsSchema.parse(env);

export interface BreakerOptions {
  failures: number;
  halfOpenAfterMs: number;
  /** The clock the cool-down is measured on: tests move a fake one. */
  clock: () => number;
  /** Whether an error says the endpoint is unwell; others pass through without counting. */
  counts: (error: Error) => boolean;
}

export const DEFAULT_BREAKER_OPTIONS: BreakerOptions = {
  failures: 5,
  halfOpenAfterMs: 30_000,
  clock: Date.now,
  counts: () => true,
};

/** The defaults with the environment's overrides. */
export function breakerOptions(env: NodeJS.ProcessEnv = process.env): BreakerOptions {
  const settings = breakerSettings(env);
  return {
    ...DEFAULT_BREAKER_OPTIONS,
    failures: settings.ORCHESTRA_BREAKER_FAILURES,
    halfOpenAfterMs: settings.ORCHESTRA_BREAKER_COOLDOWN_MS,
  };
}

export class CircuitOpenError extends Error {
  override name = "CircuitOpenError";
}

/** The parts of cockatiel's serialised breaker the store's clock touches. */
const SerializedBreakerSchema = z
  .object({
    ownState: z
      .object({ value: z.enum(CircuitState), openedAt: z.number().optional(), attemptNo: z.number().optional() })
      .loose(),
    breakerState: z.unknown(),
  })
  .loose();
type SerializedBreaker = z.infer<typeof SerializedBreakerSchema>;

/**
 * cockatiel measures an open breaker's age with Date.now(); the store keeps `openedAt` on the
 * caller's clock, so a test's clock (or another process's) decides when it goes half-open.
 */
function shiftOpenedAt(state: SerializedBreaker, shift: (openedAt: number) => number): SerializedBreaker {
  const { openedAt } = state.ownState;
  if (state.ownState.value !== CircuitState.Open || openedAt === undefined || openedAt === 0) return state;
  return { ...state, ownState: { ...state.ownState, openedAt: shift(openedAt) } };
}

/**
 * Runs `call` through the endpoint's circuit breaker, whose state lives in the store: it opens after
 * `failures` consecutive failures, refuses calls for `halfOpenAfterMs`, then lets one trial call
 * through; the trial is claimed in the store first, so two processes never both try.
 */
export async function throughBreaker<T>(
  store: BreakerStore,
  endpoint: string,
  call: () => Promise<T>,
  options: BreakerOptions = DEFAULT_BREAKER_OPTIONS,
): Promise<T> {
  const { clock } = options;
  const stored = await store.loadBreaker(endpoint);
  const parsed = stored ? SerializedBreakerSchema.safeParse(stored.state) : undefined;
  const toReal = (openedAt: number) => Date.now() - (clock() - openedAt);
  const toStore = (openedAt: number) => clock() - (Date.now() - openedAt);
  const breaker = circuitBreaker(handleWhen(options.counts), {
    halfOpenAfter: options.halfOpenAfterMs,
    breaker: new ConsecutiveBreaker(options.failures),
    ...(parsed?.success ? { initialState: shiftOpenedAt(parsed.data, toReal) } : {}),
  });
  const serialized = () => SerializedBreakerSchema.parse(breaker.toJSON());
  let version = parsed?.success ? stored?.version : undefined;
  const refused = () =>
    new CircuitOpenError(
      `circuit open for ${endpoint}: ${options.failures} consecutive failures; a trial call is let through ${options.halfOpenAfterMs / 1000} s after it opened`,
    );
  const loadedOpen = parsed?.success === true && parsed.data.ownState.value === CircuitState.Open;
  let trialTaken = false;
  try {
    const result = await breaker.execute(async () => {
      // Loaded open and still called: cockatiel is letting this call through as the half-open trial.
      if (loadedOpen) {
        // Stored as open from now while the trial runs: other processes keep refusing.
        const claim = serialized();
        const claimed = await store.saveBreaker(
          endpoint,
          { ...claim, ownState: { ...claim.ownState, value: CircuitState.Open, openedAt: clock() } },
          version,
        );
        if (!claimed) {
          trialTaken = true;
          throw refused();
        }
        version = (version ?? 0) + 1;
      }
      return call();
    });
    await store.saveBreaker(endpoint, shiftOpenedAt(serialized(), toStore), version);
    return result;
  } catch (error) {
    if (error instanceof BrokenCircuitError) throw refused();
    if (!trialTaken) await store.saveBreaker(endpoint, shiftOpenedAt(serialized(), toStore), version);
    throw error;
  }
}
