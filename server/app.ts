import { createHash, randomUUID, timingSafeEqual } from "node:crypto";
import type { RunnableConfig } from "@langchain/core/runnables";
import type { StateSnapshot } from "@langchain/langgraph";
import { getRuntimeGraphSchema } from "@langchain/langgraph-api/schema";
import { type Context, Hono } from "hono";
import { cors } from "hono/cors";
import { streamSSE } from "hono/streaming";
import pg from "pg";
import { z } from "zod";
import { InputError } from "../state/shared/errors.js";
import { ACTIVE_STATUSES, type RunKwargs, type RunRow } from "./queue.js";
import { HttpError, body, json, parse } from "./http.js";
import { mountConsole } from "./console/routes.js";
import { mountMetricsRoutes } from "./metrics.js";
import * as schemas from "./schemas.js";
import { storeRoutes } from "./store.js";
import { cronRoutes } from "./crons.js";
import { errorBody, firstLine, threadState } from "./serialise.js";
import type { ApiContext, PreparedRun, QueuedRun, RunQueueing } from "./context.js";
import { inTransaction } from "../checkpoints/transaction.js";
import { reachedNodes } from "../checkpoints/threads.js";
import { workflowOfReached } from "../graphs/registry.js";
import { requestBodies } from "./request_bodies.js";

/** Studio's origin: its browser calls this server directly. */
export const STUDIO_ORIGIN = "https://smith.langchain.com";


// @langchain/langgraph-api's namespace for the assistant it makes per graph: the same graph
// gets the same assistant id on both servers, so clients that stored one keep working.
const GRAPH_ASSISTANT_NAMESPACE = "6ba7b821-9dad-11d1-80b4-00c04fd430c8";

/** RFC 4122 version-5 (SHA-1, name-based) UUID. */
export function uuidV5(name: string, namespace: string): string {
  const hash = createHash("sha1").update(Buffer.from(namespace.replace(/-/g, ""), "hex")).update(name).digest();
  hash[6] = (hash[6]! & 0x0f) | 0x50;
  hash[8] = (hash[8]! & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export const graphAssistantId = (graphId: string) => uuidV5(graphId, GRAPH_ASSISTANT_NAMESPACE);

/** A run request checked against its assistant and graph, ready to be queued. */



const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const TERMINAL_WAIT_POLL_MS = 1_000;

interface AssistantRow {
  assistant_id: string;
  graph_id: string;
  name: string;
  description: string | null;
  config: Record<string, unknown>;
  context: Record<string, unknown>;
  metadata: Record<string, unknown>;
  version: number;
  created_at: Date;
  updated_at: Date;
}

interface ThreadRow {
  thread_id: string;
  graph_id: string | null;
  metadata: Record<string, unknown>;
  created_at: Date;
  updated_at: Date;
}

const threadIdParam = (c: Context) => parse(schemas.ThreadId, c.req.param("thread_id"));

function runIdParam(c: Context): string {
  const runId = c.req.param("run_id") ?? "";
  if (!UUID.test(runId)) throw new HttpError(404, `run ${JSON.stringify(runId)} not found`);
  return runId;
}

function sameSecret(given: string, expected: string): boolean {
  const a = createHash("sha256").update(given).digest();
  const b = createHash("sha256").update(expected).digest();
  return timingSafeEqual(a, b);
}

export function createApp(ctx: ApiContext): { app: Hono; runs: RunQueueing } {
  const { pool } = ctx;
  const table = (name: string) => `"${ctx.schema}".${name}`;
  const app = new Hono();

  app.use(
    cors({
      origin: ctx.corsOrigins,
      allowHeaders: ["content-type", "authorization", "x-api-key", "last-event-id", "x-auth-scheme"],
      exposeHeaders: ["content-location", "x-pagination-total"],
      credentials: true,
    }),
  );

  mountConsole(app);
  app.use(async (c, next) => {
    if (ctx.apiKey === undefined || c.req.method === "OPTIONS") return next();
    const bearer = /^Bearer\s+(.+)$/i.exec(c.req.header("authorization") ?? "")?.[1];
    const given = c.req.header("x-api-key") ?? bearer;
    if (given === undefined || !sameSecret(given, ctx.apiKey)) {
      return c.json({ error: "Unauthorized", message: "missing or wrong API key: send it as the x-api-key header or a Bearer token" }, 401);
    }
    return next();
  });
  app.use(requestBodies());

  app.onError((error, c) => {
    if (error instanceof HttpError) return c.json({ error: httpErrorName(error.status), message: error.message }, error.status);
    if (error instanceof InputError) return c.json({ error: "InvalidInput", message: firstLine(error.message) }, 422);
    // A statement given a value Postgres cannot take (a malformed id, a too-large number) is bad input too.
    if (isPostgresDataError(error)) return c.json({ error: "InvalidInput", message: firstLine(error.message) }, 422);
    console.error(`orchestra serve: ${c.req.method} ${c.req.path}: ${errorBody(error).message}`);
    return c.json({ error: "InternalError", message: errorBody(error).message }, 500);
  });
  app.notFound((c) => c.json({ error: "NotFound", message: `${c.req.method} ${c.req.path} is not a route of this server` }, 404));

  // --- lookups -------------------------------------------------------------------------------

  function served(graphId: string) {
    const entry = ctx.graphs.get(graphId);
    if (!entry) throw new HttpError(404, `graph ${JSON.stringify(graphId)} not found; served graphs: ${[...ctx.graphs.keys()].join(", ")}`);
    return entry;
  }

  async function assistant(idOrGraph: string): Promise<AssistantRow> {
    const id = ctx.graphs.has(idOrGraph) ? graphAssistantId(idOrGraph) : idOrGraph;
    if (UUID.test(id)) {
      const { rows } = await pool.query<AssistantRow>(`SELECT * FROM ${table("assistants")} WHERE assistant_id = $1`, [id]);
      if (rows[0]) return rows[0];
    }
    throw new HttpError(404, `assistant ${JSON.stringify(idOrGraph)} not found; use a graph id (${[...ctx.graphs.keys()].join(", ")}) or an assistant id`);
  }

  /**
   * The thread's row; a thread the CLI started has checkpoints but no row yet, and gets one here,
   * its graph told by the node names in its head checkpoint.
   */
  async function thread(threadId: string): Promise<ThreadRow> {
    const { rows } = await pool.query<ThreadRow>(`SELECT * FROM ${table("threads")} WHERE thread_id = $1`, [threadId]);
    if (rows[0]) return rows[0];
    const graphId = await graphOfCheckpoints(threadId);
    if (graphId === undefined) throw new HttpError(404, `thread ${threadId} not found`);
    const { rows: adopted } = await pool.query<ThreadRow>(
      `INSERT INTO ${table("threads")} (thread_id, graph_id, metadata) VALUES ($1, $2, $3)
       ON CONFLICT (thread_id) DO UPDATE SET thread_id = EXCLUDED.thread_id RETURNING *`,
      [threadId, graphId, { graph_id: graphId, created_by: "cli" }],
    );
    return adopted[0]!;
  }

  async function graphOfCheckpoints(threadId: string, client: pg.Pool | pg.PoolClient = pool): Promise<string | undefined> {
    const reached = await reachedNodes(client, ctx.schema, threadId);
    if (reached === undefined) return undefined;
    const graphId = workflowOfReached(reached);
    return ctx.graphs.has(graphId) ? graphId : [...ctx.graphs.keys()][0];
  }

  async function activeRuns(threadId: string, client: pg.Pool | pg.PoolClient = pool): Promise<RunRow[]> {
    const { rows } = await client.query<RunRow>(
      `SELECT * FROM ${table("runs")} WHERE thread_id = $1 AND status IN ('pending', 'running') ORDER BY created_at`,
      [threadId],
    );
    return rows;
  }

  async function run(threadId: string, runId: string): Promise<RunRow> {
    const { rows } = await pool.query<RunRow>(`SELECT * FROM ${table("runs")} WHERE run_id = $1 AND thread_id = $2`, [runId, threadId]);
    if (!rows[0]) throw new HttpError(404, `run ${runId} not found on thread ${threadId}`);
    return rows[0];
  }

  async function threadStatus(row: ThreadRow, state: StateSnapshot | undefined): Promise<string> {
    const { rows } = await pool.query<{ status: string }>(
      `SELECT status FROM ${table("runs")} WHERE thread_id = $1 ORDER BY created_at DESC LIMIT 1`,
      [row.thread_id],
    );
    const last = rows[0]?.status;
    if (last === "pending" || last === "running") return "busy";
    if (state && (state.next.length > 0 || state.tasks.some((task) => task.interrupts.length > 0))) return "interrupted";
    if (last === "error") return "error";
    return "idle";
  }

  async function stateOf(row: ThreadRow, config: RunnableConfig = {}, subgraphs = false): Promise<StateSnapshot | undefined> {
    if (!row.graph_id || !ctx.graphs.has(row.graph_id)) return undefined;
    return served(row.graph_id).graph.getState({ configurable: { ...config.configurable, thread_id: row.thread_id } }, { subgraphs });
  }

  async function threadView(row: ThreadRow) {
    const state = await stateOf(row);
    return {
      thread_id: row.thread_id,
      created_at: row.created_at,
      updated_at: row.updated_at,
      metadata: row.metadata,
      status: await threadStatus(row, state),
      values: state?.values ?? null,
      interrupts: Object.fromEntries((state?.tasks ?? []).filter((t) => t.interrupts.length).map((t) => [t.id, t.interrupts])),
    };
  }

  const emptyState = {
    values: {},
    next: [],
    tasks: [],
    metadata: null,
    created_at: null,
    checkpoint: null,
    parent_checkpoint: null,
    interrupts: [],
  };

  const assistantView = (row: AssistantRow) => ({ ...row });

  // --- meta ----------------------------------------------------------------------------------

  app.get("/ok", (c) => c.json({ ok: true }));
  app.get("/info", (c) => c.json({ version: "orchestra", flags: { assistants: true, crons: true, langsmith: false } }));

  // --- assistants ----------------------------------------------------------------------------

  app.post("/assistants", async (c) => {
    const payload = await body(c, schemas.AssistantCreate);
    served(payload.graph_id);
    const id = payload.assistant_id ?? randomUUID();
    const { rows } = await pool.query<AssistantRow>(
      `INSERT INTO ${table("assistants")} (assistant_id, graph_id, name, description, config, context, metadata)
       VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (assistant_id) DO NOTHING RETURNING *`,
      [id, payload.graph_id, payload.name ?? "Untitled", payload.description ?? null, payload.config ?? {}, payload.context ?? {}, payload.metadata ?? {}],
    );
    if (!rows[0]) {
      if (payload.if_exists === "do_nothing") return json(c, assistantView(await assistant(id)));
      throw new HttpError(409, `assistant ${id} already exists; send if_exists "do_nothing" to keep it`);
    }
    await saveVersion(rows[0]);
    return json(c, assistantView(rows[0]));
  });

  async function saveVersion(row: AssistantRow): Promise<void> {
    await pool.query(
      `INSERT INTO ${table("assistant_versions")} (assistant_id, version, graph_id, name, description, config, context, metadata)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING`,
      [row.assistant_id, row.version, row.graph_id, row.name, row.description, row.config, row.context, row.metadata],
    );
  }

  app.post("/assistants/search", async (c) => {
    const payload = await body(c, schemas.AssistantSearch);
    const sortBy = payload.sort_by ?? "created_at";
    const { rows } = await pool.query<AssistantRow & { total: number }>(
      `SELECT *, count(*) OVER ()::int AS total FROM ${table("assistants")}
       WHERE ($1::text IS NULL OR graph_id = $1) AND ($2::text IS NULL OR name ILIKE '%' || $2 || '%') AND metadata @> $3
       ORDER BY ${sortBy} ${payload.sort_order === "asc" ? "ASC" : "DESC"} LIMIT $4 OFFSET $5`,
      [payload.graph_id ?? null, payload.name ?? null, payload.metadata ?? {}, payload.limit, payload.offset],
    );
    c.header("x-pagination-total", String(rows[0]?.total ?? 0));
    return json(c, rows.map(({ total: _, ...row }) => assistantView(row)));
  });

  app.get("/assistants/:assistant_id", async (c) => json(c, assistantView(await assistant(c.req.param("assistant_id")))));

  app.patch("/assistants/:assistant_id", async (c) => {
    const current = await assistant(c.req.param("assistant_id"));
    const payload = await body(c, schemas.AssistantPatch);
    if (payload.graph_id) served(payload.graph_id);
    const { rows } = await pool.query<AssistantRow>(
      `UPDATE ${table("assistants")} SET graph_id = $2, name = $3, description = $4, config = $5, context = $6,
         metadata = metadata || $7, version = version + 1, updated_at = now()
       WHERE assistant_id = $1 RETURNING *`,
      [
        current.assistant_id,
        payload.graph_id ?? current.graph_id,
        payload.name ?? current.name,
        payload.description === undefined ? current.description : payload.description,
        payload.config ?? current.config,
        payload.context ?? current.context,
        payload.metadata ?? {},
      ],
    );
    await saveVersion(rows[0]!);
    return json(c, assistantView(rows[0]!));
  });

  app.delete("/assistants/:assistant_id", async (c) => {
    const current = await assistant(c.req.param("assistant_id"));
    await pool.query(`DELETE FROM ${table("assistants")} WHERE assistant_id = $1`, [current.assistant_id]);
    return c.body(null, 204);
  });

  app.post("/assistants/:assistant_id/versions", async (c) => {
    const current = await assistant(c.req.param("assistant_id"));
    const { rows } = await pool.query(
      `SELECT * FROM ${table("assistant_versions")} WHERE assistant_id = $1 ORDER BY version DESC`,
      [current.assistant_id],
    );
    return json(c, rows);
  });

  app.get("/assistants/:assistant_id/graph", async (c) => {
    const current = await assistant(c.req.param("assistant_id"));
    const xray = c.req.query("xray");
    const depth = xray === undefined || xray === "false" ? undefined : xray === "true" ? true : Number(xray);
    if (typeof depth === "number" && !Number.isInteger(depth)) throw new HttpError(422, "invalid xray: must be true, false or a depth");
    const drawable = await served(current.graph_id).graph.getGraphAsync({ ...(depth !== undefined ? { xray: depth } : {}) });
    return json(c, drawable.toJSON());
  });

  app.get("/assistants/:assistant_id/schemas", async (c) => {
    const current = await assistant(c.req.param("assistant_id"));
    const schema = await getRuntimeGraphSchema(served(current.graph_id).graph as Parameters<typeof getRuntimeGraphSchema>[0]);
    return json(c, {
      graph_id: current.graph_id,
      input_schema: schema?.input ?? null,
      output_schema: schema?.output ?? null,
      state_schema: schema?.state ?? null,
      config_schema: schema?.config ?? null,
      context_schema: schema?.config ?? null,
    });
  });

  app.get("/assistants/:assistant_id/subgraphs/:namespace?", async (c) => {
    const current = await assistant(c.req.param("assistant_id"));
    const recurse = c.req.query("recurse") === "true" || c.req.query("recurse") === "1";
    const found: [string, unknown][] = [];
    // Compiled graphs nested in nodes, with their schemas; the served workflows have none today.
    for await (const [namespace, subgraph] of served(current.graph_id).graph.getSubgraphsAsync(c.req.param("namespace"), recurse)) {
      found.push([namespace, (await getRuntimeGraphSchema(subgraph as Parameters<typeof getRuntimeGraphSchema>[0])) ?? null]);
    }
    return json(c, Object.fromEntries(found));
  });

  // --- threads -------------------------------------------------------------------------------

  app.post("/threads", async (c) => {
    const payload = await body(c, schemas.ThreadCreate);
    const threadId = payload.thread_id ?? randomUUID();
    if (payload.graph_id) served(payload.graph_id);
    const { rows } = await pool.query<ThreadRow>(
      `INSERT INTO ${table("threads")} (thread_id, graph_id, metadata) VALUES ($1, $2, $3)
       ON CONFLICT (thread_id) DO NOTHING RETURNING *`,
      [threadId, payload.graph_id ?? null, payload.metadata ?? {}],
    );
    if (!rows[0]) {
      if (payload.if_exists === "do_nothing") return json(c, await threadView(await thread(threadId)));
      throw new HttpError(409, `thread ${threadId} already exists; send if_exists "do_nothing" to keep it`);
    }
    return json(c, await threadView(rows[0]));
  });

  app.post("/threads/search", async (c) => {
    const payload = await body(c, schemas.ThreadSearch);
    // Threads the CLI started have checkpoints and no row: searching shows them too.
    await pool.query(
      `INSERT INTO ${table("threads")} (thread_id, metadata)
       SELECT DISTINCT thread_id, '{"created_by": "cli"}'::jsonb FROM ${table("checkpoints")} c
       WHERE NOT EXISTS (SELECT 1 FROM ${table("threads")} t WHERE t.thread_id = c.thread_id)
       ON CONFLICT DO NOTHING`,
    );
    const sortBy = payload.sort_by ?? "created_at";
    const { rows } = await pool.query<ThreadRow>(
      `SELECT * FROM ${table("threads")} WHERE metadata @> $1 AND ($2::text[] IS NULL OR thread_id = ANY($2))
       ORDER BY ${sortBy} ${payload.sort_order === "asc" ? "ASC" : "DESC"}`,
      [payload.metadata ?? {}, payload.ids ?? null],
    );
    const views = [];
    for (const row of rows) {
      const full = row.graph_id ? row : await thread(row.thread_id).catch(() => row);
      if (!full.graph_id) {
        const graphId = await graphOfCheckpoints(row.thread_id);
        if (graphId) await pool.query(`UPDATE ${table("threads")} SET graph_id = $2 WHERE thread_id = $1`, [row.thread_id, graphId]);
        full.graph_id = graphId ?? null;
      }
      const view = await threadView(full);
      if (!payload.status || view.status === payload.status) views.push(view);
    }
    c.header("x-pagination-total", String(views.length));
    return json(c, views.slice(payload.offset, payload.offset + payload.limit));
  });

  app.get("/threads/:thread_id", async (c) => json(c, await threadView(await thread(threadIdParam(c)))));

  app.patch("/threads/:thread_id", async (c) => {
    const current = await thread(threadIdParam(c));
    const payload = await body(c, schemas.ThreadPatch);
    const { rows } = await pool.query<ThreadRow>(
      `UPDATE ${table("threads")} SET metadata = metadata || $2, updated_at = now() WHERE thread_id = $1 RETURNING *`,
      [current.thread_id, payload.metadata ?? {}],
    );
    return json(c, await threadView(rows[0]!));
  });

  const deleteThread = (threadId: string) => deleteThreadRows(pool, ctx.schema, threadId);

  app.delete("/threads/:thread_id", async (c) => {
    const current = await thread(threadIdParam(c));
    if ((await activeRuns(current.thread_id)).length > 0) {
      throw new HttpError(409, `thread ${current.thread_id} has a run pending or running; cancel it first`);
    }
    await deleteThread(current.thread_id);
    return c.body(null, 204);
  });

  app.post("/threads/:thread_id/copy", async (c) => {
    const current = await thread(threadIdParam(c));
    const copyId = randomUUID();
    await inTransaction(pool, async (client) => {
      await client.query(
        `INSERT INTO ${table("threads")} (thread_id, graph_id, metadata) VALUES ($1, $2, $3)`,
        [copyId, current.graph_id, current.metadata],
      );
      for (const name of ["checkpoints", "checkpoint_blobs", "checkpoint_writes"]) {
        const { rows } = await client.query<{ column_name: string }>(
          "SELECT column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 AND column_name <> 'thread_id'",
          [ctx.schema, name],
        );
        const columns = rows.map((r) => `"${r.column_name}"`).join(", ");
        await client.query(`INSERT INTO ${table(name)} (thread_id, ${columns}) SELECT $2, ${columns} FROM ${table(name)} WHERE thread_id = $1`, [
          current.thread_id,
          copyId,
        ]);
      }
    });
    return json(c, await threadView(await thread(copyId)));
  });

  app.get("/threads/:thread_id/state", async (c) => {
    const row = await thread(threadIdParam(c));
    const state = await stateOf(row, {}, c.req.query("subgraphs") === "true");
    return json(c, state ? threadState(state) : emptyState);
  });

  app.get("/threads/:thread_id/state/:checkpoint_id", async (c) => {
    const row = await thread(threadIdParam(c));
    const state = await stateOf(row, { configurable: { checkpoint_id: c.req.param("checkpoint_id") } }, c.req.query("subgraphs") === "true");
    if (!state?.config.configurable?.checkpoint_id) throw new HttpError(404, `checkpoint ${c.req.param("checkpoint_id")} not found on thread ${row.thread_id}`);
    return json(c, threadState(state));
  });

  app.post("/threads/:thread_id/state/checkpoint", async (c) => {
    const row = await thread(threadIdParam(c));
    const payload = await body(c, schemas.StateAtCheckpoint);
    const state = await stateOf(row, { configurable: { ...payload.checkpoint } }, payload.subgraphs ?? false);
    return json(c, state ? threadState(state) : emptyState);
  });

  app.post("/threads/:thread_id/state", async (c) => {
    const row = await thread(threadIdParam(c));
    const payload = await body(c, schemas.StateUpdate);
    if (!row.graph_id) throw new HttpError(422, `thread ${row.thread_id} has no graph yet: start a run on it before updating its state`);
    if ((await activeRuns(row.thread_id)).length > 0) {
      throw new HttpError(409, `thread ${row.thread_id} is busy: a run is pending or running; wait for it, or cancel it`);
    }
    const configurable = { ...payload.checkpoint, thread_id: row.thread_id, checkpoint_ns: "", ...(payload.checkpoint_id ? { checkpoint_id: payload.checkpoint_id } : {}) };
    const next = await served(row.graph_id).graph.updateState({ configurable }, payload.values, payload.as_node);
    await pool.query(`UPDATE ${table("threads")} SET updated_at = now() WHERE thread_id = $1`, [row.thread_id]);
    return json(c, { checkpoint: next.configurable });
  });

  async function history(c: Context, row: ThreadRow, request: z.infer<typeof schemas.HistoryRequest>) {
    if (!row.graph_id) return json(c, []);
    const before = typeof request.before === "string" ? { configurable: { checkpoint_id: request.before } } : request.before;
    const states = [];
    for await (const state of served(row.graph_id).graph.getStateHistory(
      { configurable: { ...request.checkpoint, thread_id: row.thread_id } },
      { limit: request.limit, ...(before ? { before } : {}), ...(request.metadata ? { filter: request.metadata } : {}) },
    )) {
      states.push(threadState(state));
    }
    return json(c, states);
  }

  app.get("/threads/:thread_id/history", async (c) => {
    const row = await thread(threadIdParam(c));
    const limit = c.req.query("limit");
    return history(c, row, parse(schemas.HistoryRequest, { ...(limit ? { limit: Number(limit) } : {}), before: c.req.query("before") }));
  });
  app.post("/threads/:thread_id/history", async (c) => history(c, await thread(threadIdParam(c)), await body(c, schemas.HistoryRequest)));

  // --- runs ----------------------------------------------------------------------------------

  /** Checks a run request against its assistant and graph, writing nothing: bad input fails here. */
  async function prepareRun(threadId: string | undefined, payload: schemas.RunCreate): Promise<PreparedRun> {
    if (!ctx.accepting()) throw new HttpError(409, "this server is shutting down and takes no new runs; send the run to another instance");
    const chosen = await assistant(payload.assistant_id);
    const { served: servedGraph } = served(chosen.graph_id);
    const configurable = { ...chosen.config.configurable as Record<string, unknown> | undefined, ...payload.config?.configurable };
    const context = { ...chosen.context, ...payload.context };
    servedGraph.checkRequest(payload.command ? null : (payload.input ?? null), { configurable, context });
    const streamMode = payload.stream_mode === undefined ? ["values"] : [payload.stream_mode].flat();
    const kwargs: RunKwargs = {
      input: payload.input ?? null,
      ...(payload.command ? { command: payload.command } : {}),
      config: { ...payload.config, configurable },
      ...(Object.keys(context).length ? { context } : {}),
      stream_mode: streamMode,
      ...(payload.interrupt_before ? { interrupt_before: payload.interrupt_before } : {}),
      ...(payload.interrupt_after ? { interrupt_after: payload.interrupt_after } : {}),
      ...(payload.checkpoint_id ?? payload.checkpoint?.checkpoint_id ? { checkpoint_id: payload.checkpoint_id ?? payload.checkpoint?.checkpoint_id } : {}),
      subgraphs: payload.stream_subgraphs ?? false,
    };
    return {
      threadId,
      assistantId: chosen.assistant_id,
      graphId: chosen.graph_id,
      kwargs,
      metadata: payload.metadata ?? {},
      strategy: payload.multitask_strategy ?? "reject",
      ifNotExists: payload.if_not_exists,
      // A stateless run's thread goes with it, unless the caller keeps it.
      temporary: threadId === undefined && payload.on_completion !== "keep",
    };
  }

  /**
   * Queues a prepared run inside the caller's transaction. The thread's row is locked while the
   * multitask strategy is applied, so two requests racing on one thread see each other's runs.
   */
  async function insertRun(client: pg.PoolClient, prepared: PreparedRun): Promise<QueuedRun> {
    const { threadId, strategy } = prepared;
    const id = threadId ?? randomUUID();
    const cancelled: string[] = [];
    let { rows: threads } = await client.query<ThreadRow>(`SELECT * FROM ${table("threads")} WHERE thread_id = $1 FOR UPDATE`, [id]);
    if (!threads[0]) {
      // On the transaction's own connection: one more from the capped pool, while holding this one, could wait forever.
      const fromCheckpoints = threadId === undefined ? undefined : await graphOfCheckpoints(id, client);
      if (threadId !== undefined && !fromCheckpoints && prepared.ifNotExists !== "create") {
        throw new HttpError(404, `thread ${id} not found; create it first, or send if_not_exists "create"`);
      }
      await client.query(`INSERT INTO ${table("threads")} (thread_id, graph_id, metadata) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`, [
        id,
        fromCheckpoints ?? prepared.graphId,
        { graph_id: prepared.graphId },
      ]);
      ({ rows: threads } = await client.query<ThreadRow>(`SELECT * FROM ${table("threads")} WHERE thread_id = $1 FOR UPDATE`, [id]));
    }
    const row = threads[0]!;
    if (row.graph_id && row.graph_id !== prepared.graphId) {
      throw new HttpError(422, `thread ${id} runs graph ${row.graph_id}, not ${prepared.graphId}; use an assistant of ${row.graph_id} or a new thread`);
    }
    const active = await activeRuns(id, client);
    if (active.length > 0 && strategy === "reject") {
      throw new HttpError(409, `thread ${id} is busy: run ${active[0]!.run_id} is ${active[0]!.status}; wait for it, or send multitask_strategy enqueue, interrupt or rollback`);
    }
    if (active.length > 0 && (strategy === "interrupt" || strategy === "rollback")) {
      for (const other of active) {
        // A run no worker has started saved nothing: under rollback it goes, under interrupt it ends.
        const { rows: pending } = await client.query(
          strategy === "rollback"
            ? `DELETE FROM ${table("runs")} WHERE run_id = $1 AND status = 'pending' RETURNING run_id`
            : `UPDATE ${table("runs")} SET status = 'interrupted', cancel = 'interrupt', updated_at = clock_timestamp() WHERE run_id = $1 AND status = 'pending' RETURNING run_id`,
          [other.run_id],
        );
        if (pending.length === 0) {
          await client.query(`UPDATE ${table("runs")} SET cancel = $2, updated_at = clock_timestamp() WHERE run_id = $1`, [other.run_id, strategy]);
        }
        cancelled.push(other.run_id);
      }
    }
    await client.query(
      `UPDATE ${table("threads")} SET graph_id = coalesce(graph_id, $2), metadata = metadata || $3, updated_at = now() WHERE thread_id = $1`,
      [id, prepared.graphId, { graph_id: prepared.graphId, assistant_id: prepared.assistantId }],
    );
    const { rows } = await client.query<RunRow>(
      `INSERT INTO ${table("runs")} (run_id, thread_id, assistant_id, graph_id, status, kwargs, metadata, multitask_strategy, temporary)
       VALUES ($1, $2, $3, $4, 'pending', $5, $6, $7, $8) RETURNING *`,
      [randomUUID(), id, prepared.assistantId, prepared.graphId, prepared.kwargs, prepared.metadata, strategy, prepared.temporary],
    );
    return { run: rows[0]!, cancelled };
  }

  /** Tells every instance, once the run's transaction is committed: the runs cancelled, and the run queued. */
  async function announce({ run, cancelled }: QueuedRun): Promise<void> {
    // Those still running get the cancel; pending ones ended in the transaction.
    for (const other of cancelled) await ctx.bus.notify("cancel", other);
    for (const other of cancelled) await ctx.bus.notify("done", other);
    await ctx.bus.notify("queued", run.run_id);
  }

  async function createRun(threadId: string | undefined, payload: schemas.RunCreate): Promise<RunRow> {
    const prepared = await prepareRun(threadId, payload);
    const queued = await inTransaction(pool, (client) => insertRun(client, prepared));
    await announce(queued);
    return queued.run;
  }

  const runView = ({ kwargs, temporary: _t, attempt: _a, cancel: _c, graph_id: _g, ...row }: RunRow) => ({ ...row, kwargs });

  const hasEnded = (runId: string) => async () => {
    const { rows } = await pool.query<{ status: string }>(`SELECT status FROM ${table("runs")} WHERE run_id = $1`, [runId]);
    return !rows[0] || !ACTIVE_STATUSES.includes(rows[0].status as RunRow["status"]);
  };

  async function waitForEnd(runId: string, signal: AbortSignal): Promise<void> {
    const ended = hasEnded(runId);
    while (!signal.aborted && !(await ended())) await ctx.bus.next(runId, ["done"], TERMINAL_WAIT_POLL_MS, signal);
  }

  /** What wait and join answer: the thread's values, or the run's error as the SDK reads it. */
  async function outcome(threadId: string, runId: string): Promise<unknown> {
    const { rows } = await pool.query<{ status: string; temporary: boolean }>(`SELECT status, temporary FROM ${table("runs")} WHERE run_id = $1`, [runId]);
    if (rows[0]?.status === "error") {
      const { rows: errors } = await pool.query<{ data: unknown }>(
        `SELECT data FROM ${table("run_events")} WHERE run_id = $1 AND event = 'error' ORDER BY seq DESC LIMIT 1`,
        [runId],
      );
      return { __error__: errors[0]?.data ?? { error: "Error", message: "the run failed" } };
    }
    if (rows[0]?.temporary) {
      // A stateless run's thread is gone once it ends; what it streamed last is its outcome.
      const { rows: values } = await pool.query<{ data: unknown }>(
        `SELECT data FROM ${table("run_events")} WHERE run_id = $1 AND event = 'values' ORDER BY seq DESC LIMIT 1`,
        [runId],
      );
      return values[0]?.data ?? {};
    }
    const row = await thread(threadId).catch(() => undefined);
    const state = row ? await stateOf(row) : undefined;
    if (!state) return {};
    const interrupts = state.tasks.flatMap((task) => task.interrupts);
    return interrupts.length ? { ...state.values, __interrupt__: interrupts } : state.values;
  }

  function sse(c: Context, created: RunRow, afterSeq: number, cancelOnDisconnect: boolean): Response {
    c.header("content-location", `/threads/${created.thread_id}/runs/${created.run_id}`);
    return streamSSE(c, async (stream) => {
      const disconnected = new AbortController();
      stream.onAbort(() => {
        disconnected.abort();
        if (cancelOnDisconnect) void requestCancel(created, "interrupt");
      });
      for await (const event of ctx.events.follow(created.run_id, afterSeq, hasEnded(created.run_id), disconnected.signal)) {
        await stream.writeSSE({ id: String(event.seq), event: event.event, data: event.data });
      }
    });
  }

  async function requestCancel(target: RunRow, action: "interrupt" | "rollback"): Promise<void> {
    const { rows } = await pool.query<{ status: string }>(
      `UPDATE ${table("runs")} SET cancel = $2, status = CASE WHEN status = 'pending' THEN 'interrupted' ELSE status END, updated_at = clock_timestamp()
       WHERE run_id = $1 AND status IN ('pending', 'running') RETURNING status`,
      [target.run_id, action],
    );
    if (rows[0]?.status === "interrupted") {
      if (action === "rollback") await pool.query(`DELETE FROM ${table("runs")} WHERE run_id = $1`, [target.run_id]);
      await ctx.bus.notify("done", target.run_id);
    } else if (rows[0]) {
      await ctx.bus.notify("cancel", target.run_id);
    }
  }

  const threadRunRoutes = (threadId: (c: Context) => string | undefined) => ({
    create: async (c: Context) => json(c, runView(await createRun(threadId(c), await body(c, schemas.RunCreate)))),
    stream: async (c: Context) => {
      const payload = await body(c, schemas.RunCreate);
      const created = await createRun(threadId(c), payload);
      return sse(c, created, 0, payload.on_disconnect === "cancel");
    },
    wait: async (c: Context) => {
      const created = await createRun(threadId(c), await body(c, schemas.RunCreate));
      await waitForEnd(created.run_id, c.req.raw.signal);
      c.header("content-location", `/threads/${created.thread_id}/runs/${created.run_id}`);
      return json(c, await outcome(created.thread_id, created.run_id));
    },
  });

  const onThread = threadRunRoutes((c) => threadIdParam(c));
  const stateless = threadRunRoutes(() => undefined);
  app.post("/threads/:thread_id/runs", onThread.create);
  app.post("/threads/:thread_id/runs/stream", onThread.stream);
  app.post("/threads/:thread_id/runs/wait", onThread.wait);
  app.post("/runs", stateless.create);
  app.post("/runs/stream", stateless.stream);
  app.post("/runs/wait", stateless.wait);

  app.get("/threads/:thread_id/runs", async (c) => {
    const row = await thread(threadIdParam(c));
    const limit = Math.min(Number(c.req.query("limit") ?? 10) || 10, 1000);
    const offset = Math.max(Number(c.req.query("offset") ?? 0) || 0, 0);
    const status = c.req.query("status");
    const { rows } = await pool.query<RunRow>(
      `SELECT * FROM ${table("runs")} WHERE thread_id = $1 AND ($2::text IS NULL OR status = $2) ORDER BY created_at DESC LIMIT $3 OFFSET $4`,
      [row.thread_id, status ?? null, limit, offset],
    );
    return json(c, rows.map(runView));
  });

  app.get("/threads/:thread_id/runs/:run_id", async (c) => json(c, runView(await run(threadIdParam(c), runIdParam(c)))));

  app.delete("/threads/:thread_id/runs/:run_id", async (c) => {
    const target = await run(threadIdParam(c), runIdParam(c));
    if (ACTIVE_STATUSES.includes(target.status)) throw new HttpError(409, `run ${target.run_id} is ${target.status}; cancel it before deleting it`);
    await ctx.events.delete(target.run_id);
    await pool.query(`DELETE FROM ${table("runs")} WHERE run_id = $1`, [target.run_id]);
    return c.body(null, 204);
  });

  app.get("/threads/:thread_id/runs/:run_id/join", async (c) => {
    const target = await run(threadIdParam(c), runIdParam(c));
    await waitForEnd(target.run_id, c.req.raw.signal);
    return json(c, await outcome(target.thread_id, target.run_id));
  });

  app.get("/threads/:thread_id/runs/:run_id/stream", async (c) => {
    const target = await run(threadIdParam(c), runIdParam(c));
    const lastEventId = Number(c.req.header("last-event-id") ?? 0);
    return sse(c, target, Number.isInteger(lastEventId) && lastEventId > 0 ? lastEventId : 0, c.req.query("cancel_on_disconnect") === "true");
  });

  app.post("/threads/:thread_id/runs/:run_id/cancel", async (c) => {
    const target = await run(threadIdParam(c), runIdParam(c));
    await requestCancel(target, cancelAction(c.req.query("action")));
    if (c.req.query("wait") === "true" || c.req.query("wait") === "1") {
      await waitForEnd(target.run_id, c.req.raw.signal);
      return c.body(null, 204);
    }
    return c.body(null, 202);
  });
  mountMetricsRoutes(app, ctx);

  app.post("/runs/cancel", async (c) => {
    const payload = await body(c, schemas.CancelMany);
    const action = cancelAction(c.req.query("action"));
    if (!payload.thread_id && !payload.run_ids && !payload.status) {
      throw new HttpError(422, "say which runs to cancel: send thread_id, run_ids or status");
    }
    const statuses = !payload.status || payload.status === "all" ? ACTIVE_STATUSES : [payload.status];
    const { rows } = await pool.query<RunRow>(
      `SELECT * FROM ${table("runs")} WHERE status = ANY($1) AND ($2::text IS NULL OR thread_id = $2) AND ($3::uuid[] IS NULL OR run_id = ANY($3))`,
      [statuses, payload.thread_id ?? null, payload.run_ids ?? null],
    );
    if (payload.run_ids && rows.length < payload.run_ids.length) {
      const found = new Set(rows.map((r) => r.run_id));
      throw new HttpError(404, `run ${payload.run_ids.find((id) => !found.has(id))} not found among the active runs`);
    }
    for (const target of rows) await requestCancel(target, action);
    return c.body(null, 204);
  });

  const runs: RunQueueing = { prepare: prepareRun, insert: insertRun, announce };
  storeRoutes(app, pool, ctx.schema);
  cronRoutes(app, { pool, schema: ctx.schema, runs, threadExists: async (threadId) => void (await thread(threadId)) });
  return { app, runs };
}

function cancelAction(raw: string | undefined): "interrupt" | "rollback" {
  const action = raw ?? "interrupt";
  if (action !== "interrupt" && action !== "rollback") throw new HttpError(422, `invalid action ${JSON.stringify(action)}: use interrupt or rollback`);
  return action;
}

/** How long a stateless run's row and events outlive its thread: its waiters and joiners read them. */
const STATELESS_RUN_KEPT = "1 minute";

/** A thread and all it has: runs, their events, checkpoints. */
export async function deleteThreadRows(pool: pg.Pool, schema: string, threadId: string): Promise<void> {
  const table = (name: string) => `"${schema}".${name}`;
  await pool.query(`DELETE FROM ${table("run_events")} WHERE run_id IN (SELECT run_id FROM ${table("runs")} WHERE thread_id = $1)`, [threadId]);
  for (const name of ["runs", "checkpoint_writes", "checkpoint_blobs", "checkpoints", "threads"]) {
    await pool.query(`DELETE FROM ${table(name)} WHERE thread_id = $1`, [threadId]);
  }
}

/**
 * The thread of a stateless run that has ended, but not yet the run and its events, which a
 * wait or join may still be reading; those of stateless runs that ended a while ago go instead.
 */
export async function deleteStatelessThread(pool: pg.Pool, schema: string, threadId: string): Promise<void> {
  const table = (name: string) => `"${schema}".${name}`;
  for (const name of ["checkpoint_writes", "checkpoint_blobs", "checkpoints", "threads"]) {
    await pool.query(`DELETE FROM ${table(name)} WHERE thread_id = $1`, [threadId]);
  }
  await pool.query(
    `WITH expired AS (
       DELETE FROM ${table("runs")} WHERE temporary AND status NOT IN ('pending', 'running')
         AND updated_at < clock_timestamp() - interval '${STATELESS_RUN_KEPT}' RETURNING run_id)
     DELETE FROM ${table("run_events")} WHERE run_id IN (SELECT run_id FROM expired)`,
  );
}

function httpErrorName(status: number): string {
  return { 400: "BadRequest", 401: "Unauthorized", 404: "NotFound", 409: "Conflict", 422: "InvalidInput" }[status] ?? "Error";
}

function isPostgresDataError(error: unknown): error is pg.DatabaseError {
  // Class 22: data exception (invalid text representation, numeric value out of range...).
  return error instanceof pg.DatabaseError && (error.code ?? "").startsWith("22");
}
