import { randomUUID } from "node:crypto";
import os from "node:os";
import type pg from "pg";
import { envValue } from "../db/env.js";
import { rootLog } from "./log.js";
import { InputError, LeaseLostError } from "../state/shared/errors.js";

/**
 * How long a lease lasts unrenewed. A process renews its leases three times a lease, so two
 * renewals in a row can be lost (a slow statement, a GC pause, a database restart) before it loses
 * a thread; a process that died loses them within the lease, and another takes its runs over at
 * its next claim (about a second later): 9 s at worst, inside the 15 s a dead worker's run may wait.
 */
export const DEFAULT_LEASE_MS = 8_000;
export const LEASE_ENV = "ORCHESTRA_LEASE_MS";

/** The lease length, ORCHESTRA_LEASE_MS or the default; every process on one database should use the same. */
export function leaseMs(): number {
  const raw = envValue(LEASE_ENV);
  if (raw === undefined) return DEFAULT_LEASE_MS;
  const ms = Number(raw);
  if (!/^\d+$/.test(raw) || ms < 1000)
    throw new InputError(`invalid ${LEASE_ENV} '${raw.slice(0, 40)}': expected whole milliseconds, at least 1000`);
  return ms;
}

/** Where threads live, and the fence its checkpoint writes are checked against. */
export interface ThreadStore {
  pool: pg.Pool;
  schema: string;
  fence: ThreadFence;
}

/**
 * The lease table and its token sequence, created with the checkpoint tables. One row per thread
 * being run, by the CLI or by a server: whoever holds an unexpired row runs the thread; a token
 * drawn from the sequence at each acquisition fences the writes of anyone who held it before.
 */
export function leaseTablesSql(schema: string): string[] {
  return [
    `CREATE SEQUENCE IF NOT EXISTS "${schema}".thread_lease_tokens`,
    `CREATE TABLE IF NOT EXISTS "${schema}".thread_leases (
      thread_id text PRIMARY KEY,
      owner text NOT NULL,
      token bigint NOT NULL UNIQUE,
      expires_at timestamptz NOT NULL)`,
  ];
}

/** The fragments of SQL that take, renew and check leases, for a schema. */
export function leaseSql(schema: string, lease = leaseMs()) {
  const leases = `"${schema}".thread_leases`;
  const expiry = `clock_timestamp() + ${lease} * interval '1 millisecond'`;
  return {
    leases,
    expiry,
    /** The rows to insert, (thread_id, owner), become leases where the thread has none or only an expired one. */
    acquire: (rows: string) => `INSERT INTO ${leases} (thread_id, owner, token, expires_at)
      SELECT thread_id, owner, nextval('"${schema}".thread_lease_tokens'), ${expiry} FROM (${rows}) AS wanted(thread_id, owner)
      ON CONFLICT (thread_id) DO UPDATE SET owner = EXCLUDED.owner, token = EXCLUDED.token, expires_at = EXCLUDED.expires_at
      WHERE ${leases}.expires_at <= clock_timestamp()
      RETURNING thread_id, token::text AS token`,
  };
}

/**
 * The tokens of the leases this process holds, by thread: the saver checks each write of a thread
 * listed here against its token in the same statement. A lost lease stays listed, so its writes
 * keep being refused, until the holder lets go of it.
 */
/**
 * The configurable key a server run carries its lease token under, from the run's start to its
 * last write. The saver fences by it before the process-wide ThreadFence: a write LangGraph still
 * flushes after the run stopped (its lease lost, its token forgotten) then carries the lost token
 * and is refused, rather than carrying none and passing as a write of a thread not leased here.
 * "__" keeps it out of checkpoint metadata.
 */
export const LEASE_TOKEN_KEY = "__orchestra_lease_token";

export class ThreadFence {
  private readonly tokens = new Map<string, string>();

  tokenOf(threadId: string): string | null {
    return this.tokens.get(threadId) ?? null;
  }

  hold(threadId: string, token: string): void {
    this.tokens.set(threadId, token);
  }

  forget(threadId: string, token: string): void {
    if (this.tokens.get(threadId) === token) this.tokens.delete(threadId);
  }
}

/** Names the process in the lease rows, e.g. `cli host:1234:1a2b3c4d`. */
export const leaseOwner = (role: string) => `${role} ${os.hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;

/**
 * Whether a lease's owner is a CLI process of this machine that is gone (killed, crashed): its lease
 * need not run out before the thread is resumed. Taking it early is safe whatever this says, since
 * the new token fences any writer that was still alive; a pid reused since only makes us wait.
 */
export function isDeadLocalCli(owner: string): boolean {
  const match = /^cli (.+):(\d+):[0-9a-f]+$/.exec(owner);
  if (!match || match[1] !== os.hostname()) return false;
  try {
    process.kill(Number(match[2]), 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "ESRCH";
  }
}

/**
 * The leases one process holds, renewed together by one statement three times a lease. A lease
 * the renewal no longer finds was taken over: `onLost` hears of it once.
 */
export class LeaseHolder {
  private readonly held = new Map<string, string>();
  private timer: NodeJS.Timeout | undefined;
  private readonly sql: ReturnType<typeof leaseSql>;
  private readonly renewMs = leaseMs() / 3;

  constructor(
    private readonly store: ThreadStore,
    readonly owner: string,
    private readonly onLost: (threadId: string, token: string) => void,
  ) {
    this.sql = leaseSql(store.schema);
  }

  /** Takes the thread's lease; undefined when someone else holds it unexpired (a dead CLI of this machine does not). */
  async acquire(threadId: string): Promise<string | undefined> {
    const take = async () => {
      const { rows } = await this.store.pool.query<{ token: string }>(this.sql.acquire("VALUES ($1::text, $2::text)"), [
        threadId,
        this.owner,
      ]);
      return rows[0]?.token;
    };
    let token = await take();
    if (!token) {
      const { rows } = await this.store.pool.query<{ owner: string }>(
        `SELECT owner FROM ${this.sql.leases} WHERE thread_id = $1`,
        [threadId],
      );
      const holder = rows[0]?.owner;
      if (holder !== undefined && isDeadLocalCli(holder)) {
        await this.store.pool.query(
          `UPDATE ${this.sql.leases} SET expires_at = clock_timestamp() WHERE thread_id = $1 AND owner = $2`,
          [threadId, holder],
        );
        token = await take();
      }
    }
    if (token) this.adopt(threadId, token);
    return token;
  }

  /** Starts renewing and fencing a lease taken by another statement (the server's claim). */
  adopt(threadId: string, token: string): void {
    this.held.set(threadId, token);
    this.store.fence.hold(threadId, token);
    this.timer ??= setInterval(() => void this.renew(), this.renewMs).unref();
  }

  /** Lets go of a lease: deleted if still ours, no longer renewed or fenced. */
  async release(threadId: string, token: string, client: Pick<pg.Pool, "query"> = this.store.pool): Promise<void> {
    this.forget(threadId, token);
    await client.query(`DELETE FROM ${this.sql.leases} WHERE thread_id = $1 AND token = $2`, [threadId, token]);
  }

  /** Stops renewing and fencing a lease without touching its row (the run was handed back in the same statement). */
  forget(threadId: string, token: string): void {
    if (this.held.get(threadId) === token) this.held.delete(threadId);
    this.store.fence.forget(threadId, token);
  }

  /** One statement renews every lease of this process; those it no longer finds were taken over. */
  async renew(): Promise<void> {
    if (this.held.size === 0) return;
    const asked = [...this.held];
    const { rows } = await this.store.pool
      .query<{ token: string }>(
        `UPDATE ${this.sql.leases} SET expires_at = ${this.sql.expiry} WHERE owner = $1 RETURNING token::text AS token`,
        [this.owner],
      )
      .catch(() => ({ rows: undefined }));
    // The database did not answer: the leases run on, and the next renewal tries again.
    if (!rows) return;
    const renewed = new Set(rows.map((row) => row.token));
    for (const [threadId, token] of asked) {
      if (renewed.has(token) || this.held.get(threadId) !== token) continue;
      this.held.delete(threadId);
      this.onLost(threadId, token);
    }
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}

/**
 * Two processes driving one thread would interleave their writes: the CLI takes the thread's
 * lease, as a server's worker does, so exactly one of them runs it; the saver refuses the writes
 * of a holder whose lease was taken over. A lease left by a dead process expires within the lease.
 */
export async function withThreadLock<T>(store: ThreadStore, threadId: string, fn: () => Promise<T>): Promise<T> {
  const holder = new LeaseHolder(store, leaseOwner("cli"), (lost) => {
    rootLog().warn(
      { thread_id: lost },
      `lost the lease on thread ${lost} (paused past ${leaseMs()} ms?): another process runs it now; this one writes nothing more`,
    );
  });
  const token = await holder.acquire(threadId);
  if (!token)
    throw new InputError(
      `thread ${threadId} is being run by another process right now: wait for it to pause or finish`,
    );
  try {
    return await fn();
  } finally {
    holder.stop();
    await holder.release(threadId, token).catch(() => undefined);
  }
}

/** Refuses a write whose lease is gone: the caller stops at once. */
export function leaseLost(threadId: string): LeaseLostError {
  return new LeaseLostError(
    `lost the lease on thread ${threadId}: another process took the thread over, so this one writes nothing more to it`,
  );
}
