import type pg from "pg";

/**
 * Runs `fn` in one transaction on a connection of its own: committed when it returns, rolled
 * back when it throws (the rollback's own failure is dropped, so the first error is the one
 * reported), and the connection goes back to the pool either way.
 */
export async function inTransaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    const result = await fn(client);
    await client.query("COMMIT");
    return result;
  } catch (error) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}
