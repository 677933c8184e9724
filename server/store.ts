import type { Hono } from "hono";
import type pg from "pg";
import { body, json, parse } from "./http.js";
import { authorize } from "./auth/authorize.js";
import * as schemas from "./schemas.js";

interface ItemRow {
  namespace: string[];
  key: string;
  value: Record<string, unknown>;
  created_at: Date;
  updated_at: Date;
}

/**
 * The LangGraph store API (`client.store.*`) on the store_items table: items under a namespace
 * path and a key, searched by namespace prefix and by value containment.
 */
export function storeRoutes(app: Hono, pool: pg.Pool, schema: string): void {
  const items = `"${schema}".store_items`;

  app.put("/store/items", async (c) => {
    const payload = await body(c, schemas.StorePut);
    await authorize("store", "put", payload);
    await pool.query(
      `INSERT INTO ${items} (namespace, key, value) VALUES ($1, $2, $3)
       ON CONFLICT (namespace, key) DO UPDATE SET value = EXCLUDED.value, updated_at = now()`,
      [payload.namespace, payload.key, payload.value],
    );
    return c.body(null, 204);
  });

  app.get("/store/items", async (c) => {
    // The SDK joins the namespace with dots, which labels may therefore not contain.
    const { namespace, key } = parse(schemas.StoreItemKey, {
      namespace: (c.req.query("namespace") ?? "").split(".").filter((label) => label !== ""),
      key: c.req.query("key"),
    });
    await authorize("store", "get", { namespace, key });
    const { rows } = await pool.query<ItemRow>(`SELECT * FROM ${items} WHERE namespace = $1 AND key = $2`, [namespace, key]);
    // null, not 404, for a missing item: the SDK's getItem answers null then, as on LangGraph's server.
    return json(c, rows[0] ?? null);
  });

  app.delete("/store/items", async (c) => {
    const { namespace, key } = await body(c, schemas.StoreItemKey);
    await authorize("store", "delete", { namespace, key });
    await pool.query(`DELETE FROM ${items} WHERE namespace = $1 AND key = $2`, [namespace, key]);
    return c.body(null, 204);
  });

  app.post("/store/items/search", async (c) => {
    const payload = await body(c, schemas.StoreSearch);
    await authorize("store", "search", { ...payload, namespace: payload.namespace_prefix });
    const { rows } = await pool.query<ItemRow>(
      `SELECT * FROM ${items}
       WHERE namespace[1:cardinality($1::text[])] = $1::text[] AND value @> $2
       ORDER BY updated_at DESC, namespace, key LIMIT $3 OFFSET $4`,
      [payload.namespace_prefix, payload.filter ?? {}, payload.limit, payload.offset],
    );
    return json(c, { items: rows });
  });

  app.post("/store/namespaces", async (c) => {
    const payload = await body(c, schemas.StoreNamespaces);
    const prefix = payload.prefix ?? [];
    await authorize("store", "list_namespaces", { ...payload, namespace: prefix });
    const suffix = payload.suffix ?? [];
    const { rows } = await pool.query<{ namespace: string[] }>(
      `SELECT DISTINCT namespace[1:coalesce($3::int, cardinality(namespace))] AS namespace FROM ${items}
       WHERE namespace[1:cardinality($1::text[])] = $1::text[]
         AND namespace[cardinality(namespace) - cardinality($2::text[]) + 1:cardinality(namespace)] = $2::text[]
       ORDER BY 1 LIMIT $4 OFFSET $5`,
      [prefix, suffix, payload.max_depth ?? null, payload.limit, payload.offset],
    );
    return json(c, { namespaces: rows.map((row) => row.namespace) });
  });
}
