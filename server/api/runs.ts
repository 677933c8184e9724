import { type Context, Hono } from "hono";
import { streamSSE } from "hono/streaming";
import type { ApiDeps } from "./deps.js";
import { assertVisible, authorize } from "../auth/authorize.js";
import { HttpError, body, json, threadIdParam } from "../http.js";
import { isUuid } from "../lookups.js";
import { ACTIVE_STATUSES, type CancelAction, type RunRow } from "../queue/runs.js";
import * as schemas from "../schemas.js";

const TERMINAL_WAIT_POLL_MS = 1_000;

function runIdParam(c: Context): string {
  const runId = c.req.param("run_id") ?? "";
  if (!isUuid(runId)) throw new HttpError(404, `run ${JSON.stringify(runId)} not found`);
  return runId;
}

function cancelAction(raw: string | undefined): CancelAction {
  const action = raw ?? "interrupt";
  if (action !== "interrupt" && action !== "rollback")
    throw new HttpError(422, `invalid action ${JSON.stringify(action)}: use interrupt or rollback`);
  return action;
}

const runView = ({ kwargs, temporary: _t, attempt: _a, cancel: _c, graph_id: _g, ...row }: RunRow) => ({
  ...row,
  kwargs,
});

/** How runs end, are waited for, streamed and cancelled: what the run routes share. */
function runLifecycle({ ctx, storage, lookups }: ApiDeps) {
  const hasEnded = (runId: string) => async () => {
    const row = await storage.runs.status(runId);
    return !row || !ACTIVE_STATUSES.includes(row.status);
  };

  async function waitForEnd(runId: string, signal: AbortSignal): Promise<void> {
    const ended = hasEnded(runId);
    while (!signal.aborted && !(await ended())) await ctx.bus.next(runId, ["done"], TERMINAL_WAIT_POLL_MS, signal);
  }

  /** What wait and join answer: the thread's values, or the run's error as the SDK reads it. */
  async function outcome(threadId: string, runId: string): Promise<unknown> {
    const row = await storage.runs.status(runId);
    if (row?.status === "error")
      return {
        __error__: (await storage.runs.lastEvent(runId, "error")) ?? { error: "Error", message: "the run failed" },
      };
    // A stateless run's thread is gone once it ends; what it streamed last is its outcome.
    if (row?.temporary) return (await storage.runs.lastEvent(runId, "values")) ?? {};
    const thread = await lookups.thread(threadId).catch(() => undefined);
    const state = thread ? await lookups.stateOf(thread) : undefined;
    if (!state) return {};
    const interrupts = state.tasks.flatMap((task) => task.interrupts);
    return interrupts.length ? { ...state.values, __interrupt__: interrupts } : state.values;
  }

  async function requestCancel(target: RunRow, action: CancelAction): Promise<void> {
    const status = await storage.runs.requestCancel(target.run_id, action);
    if (status === "interrupted") await ctx.bus.notify("done", target.run_id);
    else if (status) await ctx.bus.notify("cancel", target.run_id);
  }

  function sse(c: Context, created: RunRow, afterSeq: number, cancelOnDisconnect: boolean): Response {
    c.header("content-location", `/threads/${created.thread_id}/runs/${created.run_id}`);
    return streamSSE(c, async (stream) => {
      const disconnected = new AbortController();
      stream.onAbort(() => {
        disconnected.abort();
        if (cancelOnDisconnect) void requestCancel(created, "interrupt");
      });
      for await (const event of ctx.events.follow(
        created.run_id,
        afterSeq,
        hasEnded(created.run_id),
        disconnected.signal,
      )) {
        await stream.writeSSE({ id: String(event.seq), event: event.event, data: event.data });
      }
    });
  }

  return { waitForEnd, outcome, requestCancel, sse };
}

/** Runs: created on a thread or stateless, then waited for, joined, streamed, listed and cancelled. */
export function runsApi(deps: ApiDeps): Hono {
  const api = new Hono();
  const { storage, lookups, runs } = deps;
  const { waitForEnd, outcome, requestCancel, sse } = runLifecycle(deps);

  async function createRun(threadId: string | undefined, payload: schemas.RunCreate): Promise<RunRow> {
    return (await runs.queue(await runs.prepare(threadId, payload))).run;
  }

  const creating = (threadId: (c: Context) => string | undefined) => ({
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

  const onThread = creating((c) => threadIdParam(c));
  const stateless = creating(() => undefined);
  api.post("/threads/:thread_id/runs", onThread.create);
  api.post("/threads/:thread_id/runs/stream", onThread.stream);
  api.post("/threads/:thread_id/runs/wait", onThread.wait);
  api.post("/runs", stateless.create);
  api.post("/runs/stream", stateless.stream);
  api.post("/runs/wait", stateless.wait);

  api.get("/threads/:thread_id/runs", async (c) => {
    const row = await lookups.thread(threadIdParam(c));
    const limit = Math.min(Number(c.req.query("limit") ?? 10) || 10, 1000);
    const offset = Math.max(Number(c.req.query("offset") ?? 0) || 0, 0);
    return json(c, (await storage.runs.list(row.thread_id, c.req.query("status"), limit, offset)).map(runView));
  });

  api.get("/threads/:thread_id/runs/:run_id", async (c) =>
    json(c, runView(await lookups.run(threadIdParam(c), runIdParam(c)))),
  );

  api.delete("/threads/:thread_id/runs/:run_id", async (c) => {
    const target = await lookups.run(threadIdParam(c), runIdParam(c));
    if (ACTIVE_STATUSES.includes(target.status))
      throw new HttpError(409, `run ${target.run_id} is ${target.status}; cancel it before deleting it`);
    await deps.ctx.events.delete(target.run_id);
    await storage.runs.delete(target.run_id);
    return c.body(null, 204);
  });

  api.get("/threads/:thread_id/runs/:run_id/join", async (c) => {
    const target = await lookups.run(threadIdParam(c), runIdParam(c));
    await waitForEnd(target.run_id, c.req.raw.signal);
    return json(c, await outcome(target.thread_id, target.run_id));
  });

  api.get("/threads/:thread_id/runs/:run_id/stream", async (c) => {
    const target = await lookups.run(threadIdParam(c), runIdParam(c));
    const lastEventId = Number(c.req.header("last-event-id") ?? 0);
    return sse(
      c,
      target,
      Number.isInteger(lastEventId) && lastEventId > 0 ? lastEventId : 0,
      c.req.query("cancel_on_disconnect") === "true",
    );
  });

  api.post("/threads/:thread_id/runs/:run_id/cancel", async (c) => {
    const target = await lookups.run(threadIdParam(c), runIdParam(c));
    await requestCancel(target, cancelAction(c.req.query("action")));
    if (c.req.query("wait") === "true" || c.req.query("wait") === "1") {
      await waitForEnd(target.run_id, c.req.raw.signal);
      return c.body(null, 204);
    }
    return c.body(null, 202);
  });

  api.post("/runs/cancel", async (c) => {
    const payload = await body(c, schemas.CancelMany);
    const action = cancelAction(c.req.query("action"));
    if (!payload.thread_id && !payload.run_ids && !payload.status) {
      throw new HttpError(422, "say which runs to cancel: send thread_id, run_ids or status");
    }
    const statuses = !payload.status || payload.status === "all" ? ACTIVE_STATUSES : [payload.status];
    const rows = await storage.runs.find(statuses, payload.thread_id, payload.run_ids);
    if (payload.run_ids && rows.length < payload.run_ids.length) {
      const found = new Set(rows.map((r) => r.run_id));
      throw new HttpError(404, `run ${payload.run_ids.find((id) => !found.has(id))} not found among the active runs`);
    }
    const visible = await authorize("threads", "update", payload);
    for (const target of rows)
      assertVisible((await lookups.thread(target.thread_id)).metadata, visible, `run ${target.run_id}`);
    for (const target of rows) await requestCancel(target, action);
    return c.body(null, 204);
  });

  return api;
}
