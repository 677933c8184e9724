import { randomUUID } from "node:crypto";
import { Hono } from "hono";
import type { ApiDeps } from "./deps.js";
import { authorize, narrowedMetadata } from "../auth/authorize.js";
import { nextFire } from "../crons.js";
import { HttpError, body, json, threadIdParam } from "../http.js";
import * as schemas from "../schemas.js";
import { errorBody, firstLine } from "../serialise.js";
import type { CronRow } from "../storage/crons.js";

function checkedSchedule(schedule: string, timezone: string | null): void {
  try {
    nextFire(schedule, timezone, new Date(), null);
  } catch (error) {
    throw new HttpError(
      422,
      `invalid schedule ${JSON.stringify(schedule)}${timezone ? ` in ${timezone}` : ""}: ${firstLine(errorBody(error).message)}; use cron syntax like "*/5 * * * *"`,
    );
  }
}

const cronView = (row: CronRow) => ({ ...row, user_id: null });

/** Crons: create (on a thread, or stateless), search, count and delete; the scheduler (crons.ts) fires them. */
export function cronsApi({ storage, lookups, runs }: ApiDeps): Hono {
  const api = new Hono();

  async function create(threadId: string | undefined, payload: schemas.CronCreate) {
    if (threadId !== undefined) await lookups.thread(threadId);
    const { schedule, timezone = null, end_time = null, enabled, on_run_completed = null, ...run } = payload;
    checkedSchedule(schedule, timezone);
    // Checked now, as a run would be, so a cron never fires a run its graph refuses.
    const prepared = await runs.prepare(threadId, run);
    const creating = { ...payload, thread_id: threadId, metadata: { ...run.metadata } };
    await authorize("crons", "create", creating);
    const endTime = end_time ? new Date(end_time) : null;
    const assistantId = prepared.assistant.assistant_id;
    const created = await storage.crons.create({
      cron_id: randomUUID(),
      assistant_id: assistantId,
      thread_id: threadId ?? null,
      schedule,
      timezone,
      payload: { ...run, assistant_id: assistantId },
      metadata: creating.metadata,
      next_run_date: nextFire(schedule, timezone, new Date(), endTime),
      end_time: endTime,
      enabled: enabled ?? true,
      on_run_completed: threadId === undefined ? (on_run_completed ?? "delete") : null,
    });
    return cronView(created);
  }

  api.post("/runs/crons", async (c) => json(c, await create(undefined, await body(c, schemas.CronCreate))));
  api.post("/threads/:thread_id/runs/crons", async (c) => {
    const threadId = threadIdParam(c);
    return json(c, await create(threadId, await body(c, schemas.CronCreate)));
  });

  /** A search narrowed to the crons the caller may see. */
  async function visibleSearch(payload: schemas.CronSearch): Promise<schemas.CronSearch> {
    // Filters first: a handler may rewrite the payload it is given.
    const filters = await authorize("crons", "search", payload);
    return { ...payload, metadata: narrowedMetadata(payload.metadata, filters) };
  }

  api.post("/runs/crons/search", async (c) =>
    json(c, (await storage.crons.search(await visibleSearch(await body(c, schemas.CronSearch)))).map(cronView)),
  );

  api.post("/runs/crons/count", async (c) =>
    json(c, await storage.crons.count(await visibleSearch(await body(c, schemas.CronSearch)))),
  );

  api.delete("/runs/crons/:cron_id", async (c) => {
    const cronId = c.req.param("cron_id");
    const visible = narrowedMetadata({}, await authorize("crons", "delete", { cron_id: cronId }));
    if (!(await storage.crons.delete(cronId, visible))) throw new HttpError(404, `cron ${cronId} not found`);
    return c.body(null, 204);
  });

  return api;
}
