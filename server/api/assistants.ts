import { randomUUID } from "node:crypto";
import { getRuntimeGraphSchema } from "@langchain/langgraph-api/schema";
import { Hono } from "hono";
import type { ApiDeps } from "./deps.js";
import { authorize, matchesFilters, narrowedMetadata } from "../auth/authorize.js";
import { HttpError, body, json } from "../http.js";
import * as schemas from "../schemas.js";

type RuntimeGraph = Parameters<typeof getRuntimeGraphSchema>[0];

/** Assistants: a served graph with its configuration, versioned on every change. */
export function assistantsApi({ storage, lookups }: ApiDeps): Hono {
  const api = new Hono();
  const { served, assistant } = lookups;

  api.post("/assistants", async (c) => {
    const payload = await body(c, schemas.AssistantCreate);
    served(payload.graph_id);
    const id = payload.assistant_id ?? randomUUID();
    const creating = { ...payload, assistant_id: id, metadata: payload.metadata ?? {} };
    const filters = await authorize("assistants", "create", creating);
    const created = await storage.assistants.create(id, creating);
    if (created) return json(c, created);
    const existing = await assistant(id);
    if (!matchesFilters(existing.metadata, filters))
      throw new HttpError(409, `assistant ${id} already exists; create it with another id`);
    if (payload.if_exists === "do_nothing") return json(c, existing);
    throw new HttpError(409, `assistant ${id} already exists; send if_exists "do_nothing" to keep it`);
  });

  api.post("/assistants/search", async (c) => {
    const payload = await body(c, schemas.AssistantSearch);
    const filters = await authorize("assistants", "search", payload);
    const { rows, total } = await storage.assistants.search({
      ...payload,
      metadata: narrowedMetadata(payload.metadata, filters),
    });
    c.header("x-pagination-total", String(total));
    return json(c, rows);
  });

  api.get("/assistants/:assistant_id", async (c) => json(c, await assistant(c.req.param("assistant_id"))));

  api.patch("/assistants/:assistant_id", async (c) => {
    const current = await assistant(c.req.param("assistant_id"));
    const payload = await body(c, schemas.AssistantPatch);
    if (payload.graph_id) served(payload.graph_id);
    return json(c, await storage.assistants.update(current, payload));
  });

  api.delete("/assistants/:assistant_id", async (c) => {
    const current = await assistant(c.req.param("assistant_id"));
    await storage.assistants.delete(current.assistant_id);
    return c.body(null, 204);
  });

  api.post("/assistants/:assistant_id/versions", async (c) => {
    const current = await assistant(c.req.param("assistant_id"));
    return json(c, await storage.assistants.versions(current.assistant_id, await body(c, schemas.AssistantVersions)));
  });

  // Runs use the assistant's current version: going back to one pins the runs to it.
  api.post("/assistants/:assistant_id/latest", async (c) => {
    const current = await assistant(c.req.param("assistant_id"));
    const { version } = await body(c, schemas.AssistantLatest);
    const latest = await storage.assistants.setLatest(current.assistant_id, version);
    if (!latest)
      throw new HttpError(
        404,
        `assistant ${current.assistant_id} has no version ${version}; list them with POST /assistants/${current.assistant_id}/versions`,
      );
    return json(c, latest);
  });

  api.get("/assistants/:assistant_id/graph", async (c) => {
    const current = await assistant(c.req.param("assistant_id"));
    const xray = c.req.query("xray");
    const depth = xray === undefined || xray === "false" ? undefined : xray === "true" ? true : Number(xray);
    if (typeof depth === "number" && !Number.isInteger(depth))
      throw new HttpError(422, "invalid xray: must be true, false or a depth");
    const drawable = await served(current.graph_id).graph.getGraphAsync({
      ...(depth !== undefined ? { xray: depth } : {}),
    });
    return json(c, drawable.toJSON());
  });

  api.get("/assistants/:assistant_id/schemas", async (c) => {
    const current = await assistant(c.req.param("assistant_id"));
    const schema = await getRuntimeGraphSchema(served(current.graph_id).graph as RuntimeGraph);
    return json(c, {
      graph_id: current.graph_id,
      input_schema: schema?.input ?? null,
      output_schema: schema?.output ?? null,
      state_schema: schema?.state ?? null,
      config_schema: schema?.config ?? null,
      context_schema: schema?.config ?? null,
    });
  });

  api.get("/assistants/:assistant_id/subgraphs/:namespace?", async (c) => {
    const current = await assistant(c.req.param("assistant_id"));
    const recurse = c.req.query("recurse") === "true" || c.req.query("recurse") === "1";
    const found: [string, unknown][] = [];
    // Compiled graphs nested in nodes, with their schemas; the served workflows have none today.
    for await (const [namespace, subgraph] of served(current.graph_id).graph.getSubgraphsAsync(
      c.req.param("namespace"),
      recurse,
    )) {
      found.push([namespace, (await getRuntimeGraphSchema(subgraph as RuntimeGraph)) ?? null]);
    }
    return json(c, Object.fromEntries(found));
  });

  return api;
}
