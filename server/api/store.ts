import { Hono } from "hono";
import type { ApiDeps } from "./deps.js";
import { authorize } from "../auth/authorize.js";
import { body, json, parse } from "../http.js";
import * as schemas from "../schemas.js";

/** The LangGraph store API (`client.store.*`): items under a namespace path and a key. */
export function storeApi({ storage, ctx }: ApiDeps): Hono {
  const api = new Hono();
  const refreshing = (asked: boolean | null | undefined) => asked ?? ctx.storeRefreshOnRead ?? true;

  api.put("/store/items", async (c) => {
    const payload = await body(c, schemas.StorePut);
    await authorize("store", "put", payload);
    await storage.store.put(payload.namespace, payload.key, payload.value, payload.ttl ?? null);
    return c.body(null, 204);
  });

  api.get("/store/items", async (c) => {
    // The SDK joins the namespace with dots, which labels may therefore not contain.
    const { namespace, key, refresh_ttl } = parse(schemas.StoreItemGet, {
      namespace: (c.req.query("namespace") ?? "").split(".").filter((label) => label !== ""),
      key: c.req.query("key"),
      refresh_ttl: c.req.query("refresh_ttl"),
    });
    await authorize("store", "get", { namespace, key });
    // null, not 404, for a missing item: the SDK's getItem answers null then, as on LangGraph's server.
    return json(c, (await storage.store.get(namespace, key, refreshing(refresh_ttl))) ?? null);
  });

  api.delete("/store/items", async (c) => {
    const { namespace, key } = await body(c, schemas.StoreItemKey);
    await authorize("store", "delete", { namespace, key });
    await storage.store.delete(namespace, key);
    return c.body(null, 204);
  });

  api.post("/store/items/search", async (c) => {
    const payload = await body(c, schemas.StoreSearch);
    // The payload goes by reference: a handler may narrow the namespace it searches.
    const request = { ...payload, namespace: payload.namespace_prefix };
    await authorize("store", "search", request);
    return json(c, {
      items: await storage.store.search(
        { ...payload, namespace_prefix: request.namespace },
        refreshing(payload.refresh_ttl),
      ),
    });
  });

  api.post("/store/namespaces", async (c) => {
    const payload = await body(c, schemas.StoreNamespaces);
    const request = { ...payload, namespace: payload.prefix ?? [] };
    await authorize("store", "list_namespaces", request);
    return json(c, { namespaces: await storage.store.namespaces({ ...payload, prefix: request.namespace }) });
  });

  return api;
}
