import pg from "pg";

/**
 * A pg pool that outlives its server going away. A client whose connection drops emits 'error',
 * which with no listener crashes the process: the pool's listener covers idle clients, ours those
 * checked out (a thread lock holds one for a whole run). The query in flight, or the next, reports
 * the problem instead. Every pool of the app's is made here; one made elsewhere took a server down
 * when the chaos soak (bench/chaos) cut its connections.
 */
export function newPool(config: pg.PoolConfig): pg.Pool {
  const pool = new pg.Pool(config);
  pool.on("error", () => {});
  pool.on("connect", (client) => client.on("error", () => {}));
  return pool;
}
