import { randomUUID } from "node:crypto";
import { type Context, Hono } from "hono";
import type { z } from "zod";
import type { ApiDeps } from "./deps.js";
import { authorize, matchesFilters } from "../auth/authorize.js";
import { HttpError, body, json, parse, threadIdParam } from "../http.js";
import * as schemas from "../schemas.js";
import { threadStorage } from "../ttl.js";
import { threadState } from "../serialise.js";
import type { ThreadRow } from "../storage/threads.js";

const EMPTY_STATE = {
  values: {},
  next: [],
  tasks: [],
  metadata: null,
  created_at: null,
  checkpoint: null,
  parent_checkpoint: null,
  interrupts: [],
};

/** Threads: their rows, and their state and history read from the checkpoints through the graph. */
export function threadsApi(deps: ApiDeps): Hono {
  const api = new Hono();
  const { storage, lookups } = deps;
  const { served, thread, viewOf } = lookups;

  api.post("/threads", async (c) => {
    const payload = await body(c, schemas.ThreadCreate);
    const threadId = payload.thread_id ?? randomUUID();
    if (payload.graph_id) served(payload.graph_id);
    const creating = { thread_id: threadId, metadata: payload.metadata ?? {}, if_exists: payload.if_exists };
    const filters = await authorize("threads", "create", creating);
    const created = await storage.threads.create(
      threadId,
      payload.graph_id ?? null,
      creating.metadata,
      payload.ttl ?? undefined,
    );
    if (created) {
      // A new thread has no checkpoint, unless the CLI saved some under that id before: then they are read.
      return json(
        c,
        created.hasCheckpoints
          ? await viewOf(created.row)
          : lookups.viewWithoutCheckpoints(created.row, created.lastRunStatus),
      );
    }
    const existing = await thread(threadId);
    if (!matchesFilters(existing.metadata, filters))
      throw new HttpError(409, `thread ${threadId} already exists; create it with another id`);
    if (payload.if_exists === "do_nothing") return json(c, await viewOf(existing));
    throw new HttpError(409, `thread ${threadId} already exists; send if_exists "do_nothing" to keep it`);
  });

  api.post("/threads/search", async (c) => {
    const payload = await body(c, schemas.ThreadSearch);
    await storage.threads.adoptCliThreads();
    const filters = await authorize("threads", "search", payload);
    const views = [];
    for (const row of await storage.threads.search(payload)) {
      if (!matchesFilters(row.metadata, filters)) continue;
      const full = row.graph_id ? row : await thread(row.thread_id).catch(() => row);
      if (!full.graph_id) {
        const graphId = await lookups.graphOfCheckpoints(row.thread_id);
        if (graphId) await storage.threads.setGraph(row.thread_id, graphId);
        full.graph_id = graphId ?? null;
      }
      const view = await viewOf(full);
      if (!payload.status || view.status === payload.status) views.push(view);
    }
    c.header("x-pagination-total", String(views.length));
    return json(c, views.slice(payload.offset, payload.offset + payload.limit));
  });

  api.get("/threads/:thread_id", async (c) => json(c, await viewOf(await thread(threadIdParam(c)))));

  api.get("/threads/:thread_id/storage", async (c) => {
    const current = await thread(threadIdParam(c));
    return json(c, {
      thread_id: current.thread_id,
      ...(await threadStorage(deps.ctx.pool, deps.ctx.schema, current.thread_id)),
    });
  });

  api.patch("/threads/:thread_id", async (c) => {
    const current = await thread(threadIdParam(c));
    const payload = await body(c, schemas.ThreadPatch);
    return json(c, await viewOf(await storage.threads.mergeMetadata(current.thread_id, payload.metadata ?? {})));
  });

  api.delete("/threads/:thread_id", async (c) => {
    const current = await thread(threadIdParam(c));
    if ((await storage.runs.active(current.thread_id)).length > 0) {
      throw new HttpError(409, `thread ${current.thread_id} has a run pending or running; cancel it first`);
    }
    await storage.threads.delete(current.thread_id);
    return c.body(null, 204);
  });

  api.post("/threads/:thread_id/copy", async (c) => {
    const current = await thread(threadIdParam(c));
    const copyId = randomUUID();
    await storage.threads.copy(current, copyId);
    return json(c, await viewOf(await thread(copyId)));
  });

  api.route("/", stateApi(deps));
  return api;
}

/** A thread's state: now, at a checkpoint, updated by hand, and its history. */
function stateApi({ storage, lookups }: ApiDeps): Hono {
  const api = new Hono();
  const { served, thread, stateOf } = lookups;

  api.get("/threads/:thread_id/state", async (c) => {
    const row = await thread(threadIdParam(c));
    const state = await stateOf(row, {}, c.req.query("subgraphs") === "true");
    return json(c, state ? threadState(state) : EMPTY_STATE);
  });

  api.get("/threads/:thread_id/state/:checkpoint_id", async (c) => {
    const row = await thread(threadIdParam(c));
    const state = await stateOf(
      row,
      { configurable: { checkpoint_id: c.req.param("checkpoint_id") } },
      c.req.query("subgraphs") === "true",
    );
    if (!state?.config.configurable?.checkpoint_id)
      throw new HttpError(404, `checkpoint ${c.req.param("checkpoint_id")} not found on thread ${row.thread_id}`);
    return json(c, threadState(state));
  });

  api.post("/threads/:thread_id/state/checkpoint", async (c) => {
    const row = await thread(threadIdParam(c));
    const payload = await body(c, schemas.StateAtCheckpoint);
    const state = await stateOf(row, { configurable: { ...payload.checkpoint } }, payload.subgraphs ?? false);
    return json(c, state ? threadState(state) : EMPTY_STATE);
  });

  api.post("/threads/:thread_id/state", async (c) => {
    const row = await thread(threadIdParam(c));
    const payload = await body(c, schemas.StateUpdate);
    if (!row.graph_id)
      throw new HttpError(422, `thread ${row.thread_id} has no graph yet: start a run on it before updating its state`);
    if ((await storage.runs.active(row.thread_id)).length > 0) {
      throw new HttpError(
        409,
        `thread ${row.thread_id} is busy: a run is pending or running; wait for it, or cancel it`,
      );
    }
    const configurable = {
      ...payload.checkpoint,
      thread_id: row.thread_id,
      checkpoint_ns: "",
      ...(payload.checkpoint_id ? { checkpoint_id: payload.checkpoint_id } : {}),
    };
    const next = await served(row.graph_id).graph.updateState({ configurable }, payload.values, payload.as_node);
    await storage.threads.touch(row.thread_id);
    return json(c, { checkpoint: next.configurable });
  });

  async function history(c: Context, row: ThreadRow, request: z.infer<typeof schemas.HistoryRequest>) {
    if (!row.graph_id) return json(c, []);
    const before =
      typeof request.before === "string" ? { configurable: { checkpoint_id: request.before } } : request.before;
    const states = [];
    for await (const state of served(row.graph_id).graph.getStateHistory(
      { configurable: { ...request.checkpoint, thread_id: row.thread_id } },
      {
        limit: request.limit,
        ...(before ? { before } : {}),
        ...(request.metadata ? { filter: request.metadata } : {}),
      },
    )) {
      states.push(threadState(state));
    }
    return json(c, states);
  }

  api.get("/threads/:thread_id/history", async (c) => {
    const row = await thread(threadIdParam(c));
    const limit = c.req.query("limit");
    return history(
      c,
      row,
      parse(schemas.HistoryRequest, { ...(limit ? { limit: Number(limit) } : {}), before: c.req.query("before") }),
    );
  });
  api.post("/threads/:thread_id/history", async (c) =>
    history(c, await thread(threadIdParam(c)), await body(c, schemas.HistoryRequest)),
  );
  return api;
}
