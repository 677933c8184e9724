import type pg from "pg";
import { z } from "zod";
import { envValue } from "../db/env.js";
import { inTransaction } from "../checkpoints/transaction.js";
import { InputError } from "../state/shared/errors.js";
import { TTL_STRATEGIES } from "./schemas.js";
import { errorBody } from "./serialise.js";
import { deleteThreadRows, deleteUnreferencedBlobs } from "./storage/threads.js";

type TtlStrategy = (typeof TTL_STRATEGIES)[number];

/** Threads' and store items' time-to-live, declared once; from the environment. */
export const TtlSettingsSchema = z.object({
  /** A thread's TTL when it was created without one: minutes since its last activity. Unset: kept. */
  ORCHESTRA_THREAD_TTL_MINUTES: z.coerce.number().positive().optional(),
  ORCHESTRA_THREAD_TTL_STRATEGY: z
    .enum(TTL_STRATEGIES, { error: "ORCHESTRA_THREAD_TTL_STRATEGY must be delete or keep_latest" })
    .default("delete"),
  /** Whether reading a store item starts its TTL again, when the read does not say. */
  ORCHESTRA_STORE_TTL_REFRESH_ON_READ: z
    .enum(["true", "false"], { error: "ORCHESTRA_STORE_TTL_REFRESH_ON_READ must be true or false" })
    .default("true")
    .transform((text) => text === "true"),
  /** How often each instance looks for what expired. */
  ORCHESTRA_TTL_SWEEP_MS: z.coerce.number().int().min(100).default(60_000),
});
export type TtlSettings = z.infer<typeof TtlSettingsSchema>;

export function ttlSettings(): TtlSettings {
  const names = Object.keys(TtlSettingsSchema.shape) as (keyof TtlSettings)[];
  const parsed = TtlSettingsSchema.safeParse(Object.fromEntries(names.map((name) => [name, envValue(name)])));
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new InputError(`TTL configuration: ${issue.path.join(".")}: ${issue.message}`);
  }
  return parsed.data;
}

/** Most threads, and most store items, one sweep statement takes. */
const SWEEP_BATCH = 50;

/**
 * Removes what outlived its TTL, in every instance: expired threads (deleted with all their rows,
 * or pruned to their latest checkpoint) and store items. Each batch is claimed FOR UPDATE SKIP
 * LOCKED, so instances sweep different rows; a thread with an active run or a held lease is not
 * expired, and queueing a run takes the thread's row lock, so no run starts on a thread being swept.
 */
export class TtlSweeper {
  private stopping = false;
  private wake: (() => void) | undefined;
  private loop: Promise<void> = Promise.resolve();

  constructor(
    private readonly pool: pg.Pool,
    private readonly schema: string,
    private readonly settings: TtlSettings,
    private readonly log: (message: string) => void,
  ) {}

  start(): void {
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.wake?.();
    await this.loop;
  }

  private async run(): Promise<void> {
    while (!this.stopping) {
      try {
        while (
          !this.stopping &&
          ((await this.sweepThreads()) === SWEEP_BATCH || (await this.sweepStoreItems()) === SWEEP_BATCH)
        );
      } catch (error) {
        this.log(`ttl sweeper: ${errorBody(error).message}`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.settings.ORCHESTRA_TTL_SWEEP_MS * (0.5 + Math.random()));
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
        if (this.stopping) this.wake();
      });
    }
  }

  /** One batch of expired threads, in one transaction; how many it took. */
  private sweepThreads(): Promise<number> {
    const t = (name: string) => `"${this.schema}".${name}`;
    const { ORCHESTRA_THREAD_TTL_MINUTES: defaultMinutes, ORCHESTRA_THREAD_TTL_STRATEGY: defaultStrategy } =
      this.settings;
    return inTransaction(this.pool, async (client) => {
      // Its TTL runs from its last activity: its creation or update, its last run's end, its last sweep.
      const { rows } = await client.query<{ thread_id: string; strategy: TtlStrategy }>(
        `SELECT t.thread_id, coalesce(t.ttl_strategy, $2) AS strategy FROM ${t("threads")} t
         WHERE coalesce(t.ttl_minutes, $1) IS NOT NULL
           AND greatest(t.updated_at, t.ttl_swept_at, (SELECT max(r.updated_at) FROM ${t("runs")} r WHERE r.thread_id = t.thread_id))
               + coalesce(t.ttl_minutes, $1) * interval '1 minute' <= clock_timestamp()
           AND NOT EXISTS (SELECT 1 FROM ${t("runs")} r WHERE r.thread_id = t.thread_id AND r.status IN ('pending', 'running'))
           AND NOT EXISTS (SELECT 1 FROM ${t("thread_leases")} l WHERE l.thread_id = t.thread_id AND l.expires_at > clock_timestamp())
         LIMIT $3 FOR UPDATE OF t SKIP LOCKED`,
        [defaultMinutes ?? null, defaultStrategy, SWEEP_BATCH],
      );
      for (const { thread_id, strategy } of rows) {
        if (strategy === "keep_latest") await keepLatestCheckpoint(client, this.schema, thread_id);
        else await deleteThreadRows(client, this.schema, thread_id);
      }
      return rows.length;
    });
  }

  /** One batch of expired store items; how many it deleted. */
  private async sweepStoreItems(): Promise<number> {
    const items = `"${this.schema}".store_items`;
    const { rowCount } = await this.pool.query(
      `DELETE FROM ${items} WHERE ctid IN (
         SELECT ctid FROM ${items} WHERE expires_at <= clock_timestamp() LIMIT $1 FOR UPDATE SKIP LOCKED)`,
      [SWEEP_BATCH],
    );
    return rowCount ?? 0;
  }
}

/**
 * Prunes a thread to its latest checkpoint in each namespace, with that checkpoint's writes (a
 * pending interrupt, a resume) and the blobs it refers to: what getState and a resume read.
 */
async function keepLatestCheckpoint(client: pg.PoolClient, schema: string, threadId: string): Promise<void> {
  const t = (name: string) => `"${schema}".${name}`;
  const latest = `(SELECT checkpoint_ns, max(checkpoint_id) AS checkpoint_id FROM ${t("checkpoints")} WHERE thread_id = $1 GROUP BY checkpoint_ns)`;
  for (const table of ["checkpoint_writes", "checkpoints"]) {
    await client.query(
      `DELETE FROM ${t(table)} x WHERE thread_id = $1
       AND NOT EXISTS (SELECT 1 FROM ${latest} l WHERE l.checkpoint_ns = x.checkpoint_ns AND l.checkpoint_id = x.checkpoint_id)`,
      [threadId],
    );
  }
  await deleteUnreferencedBlobs(client, schema, threadId);
  await client.query(`UPDATE ${t("threads")} SET ttl_swept_at = clock_timestamp() WHERE thread_id = $1`, [threadId]);
}

/** The bytes a thread takes, by table, as Postgres stores its rows. */
export async function threadStorage(pool: pg.Pool, schema: string, threadId: string): Promise<Record<string, number>> {
  const t = (name: string) => `"${schema}".${name}`;
  const size = (table: string, where = "thread_id = $1") =>
    `(SELECT coalesce(sum(pg_column_size(x.*)), 0) FROM ${t(table)} x WHERE ${where})::bigint`;
  const { rows } = await pool.query<Record<string, string>>(
    `SELECT ${size("checkpoints")} AS checkpoints, ${size("checkpoint_blobs")} AS checkpoint_blobs, ${size("checkpoint_writes")} AS checkpoint_writes,
       ${size("runs")} AS runs, ${size("run_events", `run_id IN (SELECT run_id FROM ${t("runs")} WHERE thread_id = $1)`)} AS run_events`,
    [threadId],
  );
  const bytes = Object.fromEntries(Object.entries(rows[0]!).map(([table, text]) => [table, Number(text)]));
  return { ...bytes, total: Object.values(bytes).reduce((sum, n) => sum + n, 0) };
}
