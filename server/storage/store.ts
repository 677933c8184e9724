import type pg from "pg";
import type * as schemas from "../schemas.js";

export interface ItemRow {
  namespace: string[];
  key: string;
  value: Record<string, unknown>;
  created_at: Date;
  updated_at: Date;
}

/** The LangGraph store on the store_items table: items under a namespace path and a key. */
export class StoreRepo {
  private readonly items: string;

  constructor(
    private readonly pool: pg.Pool,
    schema: string,
  ) {
    this.items = `"${schema}".store_items`;
  }

  async put(namespace: string[], key: string, value: Record<string, unknown>): Promise<void> {
    await this.pool.query(
      `INSERT INTO ${this.items} (namespace, key, value) VALUES ($1, $2, $3)
       ON CONFLICT (namespace, key) DO UPDATE SET value = EXCLUDED.value, updated_at = now()`,
      [namespace, key, value],
    );
  }

  async get(namespace: string[], key: string): Promise<ItemRow | undefined> {
    const { rows } = await this.pool.query<ItemRow>(`SELECT * FROM ${this.items} WHERE namespace = $1 AND key = $2`, [namespace, key]);
    return rows[0];
  }

  async delete(namespace: string[], key: string): Promise<void> {
    await this.pool.query(`DELETE FROM ${this.items} WHERE namespace = $1 AND key = $2`, [namespace, key]);
  }

  /** Items under a namespace prefix whose value contains `filter`, most recently updated first. */
  async search(payload: schemas.StoreSearch): Promise<ItemRow[]> {
    const { rows } = await this.pool.query<ItemRow>(
      `SELECT * FROM ${this.items}
       WHERE namespace[1:cardinality($1::text[])] = $1::text[] AND value @> $2
       ORDER BY updated_at DESC, namespace, key LIMIT $3 OFFSET $4`,
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
       ORDER BY 1 LIMIT $4 OFFSET $5`,
      [payload.prefix ?? [], payload.suffix ?? [], payload.max_depth ?? null, payload.limit, payload.offset],
    );
    return rows.map((row) => row.namespace);
  }
}
