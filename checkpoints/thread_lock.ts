import type { Checkpointer } from "./index.js";
import { InputError } from "../state/shared/errors.js";

/** Where threads live: the lock is per schema, as thread ids are. */
export type ThreadStore = Pick<Checkpointer, "pool" | "schema">;

/**
 * The advisory lock key of a thread, taken by every runner of it: the CLI (withThreadLock) and the
 * server's workers (server/queue.ts), so a CLI run and a server run of one thread exclude
 * each other. Advisory locks are database-wide, so the key names the schema: a thread of the same
 * id in another schema is another thread.
 */
export const threadLockKey = (schema: string, threadId: string) => `orchestra:thread:${schema}:${threadId}`;

/**
 * Two processes driving one thread would interleave their writes: a session-level
 * advisory lock per thread lets exactly one of them run it.
 */
export async function withThreadLock<T>({ pool, schema }: ThreadStore, threadId: string, fn: () => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    const key = threadLockKey(schema, threadId);
    const { rows } = await client.query("SELECT pg_try_advisory_lock(hashtext($1)) AS locked", [key]);
    if (!rows[0].locked) {
      throw new InputError(`thread ${threadId} is being run by another process right now: wait for it to pause or finish`);
    }
    try {
      return await fn();
    } finally {
      await client.query("SELECT pg_advisory_unlock(hashtext($1))", [key]).catch(() => undefined);
    }
  } finally {
    client.release();
  }
}
