import type pg from "pg";
import type * as schemas from "../schemas.js";

export interface ItemRow {
  namespace: string[];
  key: string;
  value: Record<string, unknown>;
  created_at: Date;
  updated_at: Date;
}

/** The item as the SDK reads it: its TTL columns stay here. */
const ITEM_COLUMNS = "namespace, key, value, created_at, updated_at";

/** The LangGraph store on the store_items table: items under a namespace path and a key, some with a TTL (server/ttl.ts sweeps them). */
export class StoreRepo {
  private readonly items: string;

  constructor(
    private readonly pool: pg.Pool,
    schema: string,
  ) {
    this.items = `"${schema}".store_items`;
  }

  /** `ttlMinutes`: the item expires that long after this write, or after a read that refreshes it; null: kept until deleted. */
  async put(
    namespace: string[],
    key: string,
    value: Record<string, unknown>,
    ttlMinutes: number | null = null,
  ): Promise<void> {
    await this.pool.query(
      `INSERT INTO ${this.items} (namespace, key, value, ttl_minutes, expires_at)
       VALUES ($1, $2, $3, $4::float8, clock_timestamp() + $4::float8 * interval '1 minute')
       ON CONFLICT (namespace, key) DO UPDATE SET value = EXCLUDED.value, updated_at = now(),
         ttl_minutes = EXCLUDED.ttl_minutes, expires_at = EXCLUDED.expires_at`,
      [namespace, key, value, ttlMinutes],
    );
  }

  /** The item unless it expired; a `refresh` read starts its TTL again. */
  async get(namespace: string[], key: string, refresh: boolean): Promise<ItemRow | undefined> {
    const { rows } = await this.pool.query<ItemRow>(`${this.refreshing(refresh)} SELECT ${ITEM_COLUMNS} FROM found`, [
      namespace,
      key,
    ]);
    return rows[0];
  }

  /**
   * The live items the statement's `found` CTE selects (`$1` namespace, `$2` key unless `where` says
   * otherwise), their TTL started again when `refresh`: the read and the refresh are one statement.
   */
  private refreshing(refresh: boolean, where = "namespace = $1 AND key = $2", tail = ""): string {
    return `WITH found AS (
        SELECT * FROM ${this.items} WHERE ${where} AND (expires_at IS NULL OR expires_at > clock_timestamp()) ${tail}),
      refreshed AS (
        UPDATE ${this.items} i SET expires_at = clock_timestamp() + i.ttl_minutes * interval '1 minute'
        FROM found WHERE ${refresh} AND found.ttl_minutes IS NOT NULL AND i.namespace = found.namespace AND i.key = found.key)`;
  }

  async delete(namespace: string[], key: string): Promise<void> {
    await this.pool.query(`DELETE FROM ${this.items} WHERE namespace = $1 AND key = $2`, [namespace, key]);
  }

  /** Live items under a namespace prefix whose value contains `filter`, most recently updated first; a `refresh` search starts their TTL again. */
  async search(payload: schemas.StoreSearch, refresh: boolean): Promise<ItemRow[]> {
    const { rows } = await this.pool.query<ItemRow>(
      `${this.refreshing(refresh, "namespace[1:cardinality($1::text[])] = $1::text[] AND value @> $2", "ORDER BY updated_at DESC, namespace, key LIMIT $3 OFFSET $4")}
       SELECT ${ITEM_COLUMNS} FROM found ORDER BY updated_at DESC, namespace, key`,
      [payload.namespace_prefix, payload.filter ?? {}, payload.limit, payload.offset],
    );
    return rows;
  }

  /** The distinct namespaces with that prefix and suffix, cut at `max_depth`. */
  async namespaces(payload: schemas.StoreNamespaces): Promise<string[][]> {
    const { rows } = await this.pool.query<{ namespace: string[] }>(
      `SELECT DISTINCT namespace[1:coalesce($3::int, cardinality(namespace))] AS namespace FROM ${this.items}
       WHERE namespace[1:cardinality($1::text[])] = $1::text[]
         AND namespace[cardinality(namespace) - cardinality($2::text[]) + 1:cardinality(namespace)] = $2::text[]
         AND (expires_at IS NULL OR expires_at > clock_timestamp())
       ORDER BY 1 LIMIT $4 OFFSET $5`,
      [payload.prefix ?? [], payload.suffix ?? [], payload.max_depth ?? null, payload.limit, payload.offset],
    );
    return rows.map((row) => row.namespace);
  }
}
