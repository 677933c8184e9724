import { randomUUID } from "node:crypto";
import { Cron } from "croner";
import type { Hono } from "hono";
import type pg from "pg";
import type { QueuedRun, RunQueueing } from "./context.js";
import { HttpError, body, json, parse } from "./http.js";
import { authorize, narrowedMetadata } from "./auth/authorize.js";
import * as schemas from "./schemas.js";
import { errorBody, firstLine } from "./serialise.js";
import { inTransaction } from "../checkpoints/transaction.js";

interface CronRow {
  cron_id: string;
  assistant_id: string;
  thread_id: string | null;
  schedule: string;
  timezone: string | null;
  payload: schemas.RunCreate;
  metadata: Record<string, unknown>;
  next_run_date: Date | null;
  end_time: Date | null;
  enabled: boolean;
  on_run_completed: "delete" | "keep" | null;
  created_at: Date;
  updated_at: Date;
}

/** The longest a scheduler sleeps: a cron created on another instance is seen within this. */
const CRON_POLL_MS = 1_000;
/** Due crons one scheduler transaction fires. */
const CRON_BATCH = 16;

/**
 * The next time `schedule` fires strictly after `after`, or null when it never does again (or not
 * before `endTime`). Five fields, or six with seconds first; `timezone` is an IANA name.
 */
export function nextFire(schedule: string, timezone: string | null, after: Date, endTime: Date | null): Date | null {
  const next = new Cron(schedule, { ...(timezone ? { timezone } : {}), paused: true }).nextRun(after);
  return next && (!endTime || next <= endTime) ? next : null;
}

function checkedSchedule(schedule: string, timezone: string | null): void {
  try {
    nextFire(schedule, timezone, new Date(), null);
  } catch (error) {
    throw new HttpError(422, `invalid schedule ${JSON.stringify(schedule)}${timezone ? ` in ${timezone}` : ""}: ${firstLine(errorBody(error).message)}; use cron syntax like "*/5 * * * *"`);
  }
}

const cronView = (row: CronRow) => ({ ...row, user_id: null });

/** Crons: create (on a thread, or stateless), search, count and delete, on the crons table. */
export function cronRoutes(
  app: Hono,
  options: { pool: pg.Pool; schema: string; runs: RunQueueing; threadExists(threadId: string): Promise<void> },
): void {
  const { pool, runs } = options;
  const crons = `"${options.schema}".crons`;

  async function create(threadId: string | undefined, payload: schemas.CronCreate) {
    if (threadId !== undefined) await options.threadExists(threadId);
    const { schedule, timezone = null, end_time = null, enabled, on_run_completed = null, ...run } = payload;
    checkedSchedule(schedule, timezone);
    // Checked now, as a run would be, so a cron never fires a run its graph refuses.
    const prepared = await runs.prepare(threadId, run);
    const creating = { ...payload, thread_id: threadId, metadata: { ...run.metadata } };
    await authorize("crons", "create", creating);
    const endTime = end_time ? new Date(end_time) : null;
    const { rows } = await pool.query<CronRow>(
      `INSERT INTO ${crons} (cron_id, assistant_id, thread_id, schedule, timezone, payload, metadata, next_run_date, end_time, enabled, on_run_completed)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING *`,
      [
        randomUUID(),
        prepared.assistantId,
        threadId ?? null,
        schedule,
        timezone,
        { ...run, assistant_id: prepared.assistantId },
        creating.metadata,
        nextFire(schedule, timezone, new Date(), endTime),
        endTime,
        enabled ?? true,
        threadId === undefined ? (on_run_completed ?? "delete") : null,
      ],
    );
    return cronView(rows[0]!);
  }

  app.post("/runs/crons", async (c) => json(c, await create(undefined, await body(c, schemas.CronCreate))));
  app.post("/threads/:thread_id/runs/crons", async (c) => {
    const threadId = parse(schemas.ThreadId, c.req.param("thread_id"));
    return json(c, await create(threadId, await body(c, schemas.CronCreate)));
  });

  const where = `($1::uuid IS NULL OR assistant_id = $1) AND ($2::text IS NULL OR thread_id = $2)
    AND ($3::boolean IS NULL OR enabled = $3) AND metadata @> $4`;
  const filters = (payload: { assistant_id?: string; thread_id?: string; enabled?: boolean; metadata?: Record<string, unknown> }) => [
    payload.assistant_id ?? null,
    payload.thread_id ?? null,
    payload.enabled ?? null,
    payload.metadata ?? {},
  ];

  app.post("/runs/crons/search", async (c) => {
    const payload = await body(c, schemas.CronSearch);
    payload.metadata = narrowedMetadata(payload.metadata, await authorize("crons", "search", payload));
    const { rows } = await pool.query<CronRow>(
      `SELECT * FROM ${crons} WHERE ${where}
       ORDER BY ${payload.sort_by ?? "created_at"} ${payload.sort_order === "asc" ? "ASC" : "DESC"} LIMIT $5 OFFSET $6`,
      [...filters(payload), payload.limit, payload.offset],
    );
    return json(c, rows.map(cronView));
  });

  app.post("/runs/crons/count", async (c) => {
    const payload = await body(c, schemas.CronSearch);
    payload.metadata = narrowedMetadata(payload.metadata, await authorize("crons", "search", payload));
    const { rows } = await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${crons} WHERE ${where}`, filters(payload));
    return json(c, rows[0]!.n);
  });

  app.delete("/runs/crons/:cron_id", async (c) => {
    const cronId = c.req.param("cron_id");
    const visible = narrowedMetadata({}, await authorize("crons", "delete", { cron_id: cronId }));
    const { rowCount } = await pool.query(`DELETE FROM ${crons} WHERE cron_id::text = $1 AND metadata @> $2`, [cronId, visible]);
    if (!rowCount) throw new HttpError(404, `cron ${cronId} not found`);
    return c.body(null, 204);
  });
}

/**
 * Fires due crons, on every instance. A due cron's row is locked (FOR UPDATE SKIP LOCKED) in the
 * transaction that queues its run and moves its next_run_date on, so each firing is claimed by
 * exactly one instance and queues exactly one run, even when every instance wakes at the same
 * moment. A cron whose run is refused (its thread busy under `reject`) skips that firing.
 */
export class CronScheduler {
  private stopped = false;
  private wake: (() => void) | undefined;
  private loop: Promise<void> | undefined;

  constructor(
    private readonly options: { pool: pg.Pool; schema: string; runs: RunQueueing; log(message: string): void },
  ) {}

  start(): void {
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.loop;
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      let sleepMs = CRON_POLL_MS;
      try {
        await this.fireDue();
        sleepMs = await this.untilNextDue();
      } catch (error) {
        this.options.log(`crons: ${errorBody(error).message}`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, sleepMs);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  private async untilNextDue(): Promise<number> {
    const { rows } = await this.options.pool.query<{ next: Date | null }>(
      `SELECT min(next_run_date) AS next FROM "${this.options.schema}".crons WHERE enabled`,
    );
    const next = rows[0]?.next;
    return next ? Math.max(0, Math.min(CRON_POLL_MS, next.getTime() - Date.now())) : CRON_POLL_MS;
  }

  /** Fires what is due now; returns how many runs it queued. */
  async fireDue(): Promise<number> {
    const { pool, schema, runs, log } = this.options;
    const crons = `"${schema}".crons`;
    const queued: QueuedRun[] = [];
    await inTransaction(pool, async (client) => {
      const { rows: due } = await client.query<CronRow>(
        `SELECT * FROM ${crons} WHERE enabled AND next_run_date <= clock_timestamp()
         ORDER BY next_run_date LIMIT ${CRON_BATCH} FOR UPDATE SKIP LOCKED`,
      );
      for (const cron of due) {
        const firedAt = cron.next_run_date!;
        await client.query("SAVEPOINT fire");
        try {
          const prepared = await runs.prepare(cron.thread_id ?? undefined, {
            ...cron.payload,
            metadata: { ...cron.payload.metadata, cron_id: cron.cron_id, scheduled_at: firedAt.toISOString() },
            ...(cron.thread_id === null ? { on_completion: cron.on_run_completed ?? "delete" } : {}),
          });
          queued.push(await runs.insert(client, prepared));
          await client.query("RELEASE SAVEPOINT fire");
        } catch (error) {
          await client.query("ROLLBACK TO SAVEPOINT fire");
          log(`cron ${cron.cron_id} skipped its run at ${firedAt.toISOString()}: ${errorBody(error).message}`);
        }
        // Firings missed while no instance ran are not made up: the next is after now.
        const now = new Date();
        await client.query(`UPDATE ${crons} SET next_run_date = $2, updated_at = now() WHERE cron_id = $1`, [
          cron.cron_id,
          nextFire(cron.schedule, cron.timezone, firedAt > now ? firedAt : now, cron.end_time),
        ]);
      }
    });
    for (const run of queued) await runs.announce(run);
    return queued.length;
  }
}
