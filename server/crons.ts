import { Cron } from "croner";
import type pg from "pg";
import { inTransaction } from "../checkpoints/transaction.js";
import type { QueuedRun, RunQueueing } from "./context.js";
import { errorBody } from "./serialise.js";
import type { CronsRepo } from "./storage/crons.js";

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
    private readonly options: { pool: pg.Pool; crons: CronsRepo; runs: RunQueueing; log(message: string): void },
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
    const next = await this.options.crons.nextDue();
    return next ? Math.max(0, Math.min(CRON_POLL_MS, next.getTime() - Date.now())) : CRON_POLL_MS;
  }

  /** Fires what is due now; returns how many runs it queued. Their notices go out when the transaction commits. */
  async fireDue(): Promise<number> {
    const { pool, crons, runs, log } = this.options;
    const queued: QueuedRun[] = [];
    await inTransaction(pool, async (client) => {
      for (const cron of await crons.lockDue(client, CRON_BATCH)) {
        const firedAt = cron.next_run_date!;
        await client.query("SAVEPOINT fire");
        try {
          const prepared = await runs.prepare(cron.thread_id ?? undefined, {
            ...cron.payload,
            metadata: { ...cron.payload.metadata, cron_id: cron.cron_id, scheduled_at: firedAt.toISOString() },
            ...(cron.thread_id === null ? { on_completion: cron.on_run_completed ?? "delete" } : {}),
          });
          queued.push(await runs.queue(prepared, client));
          await client.query("RELEASE SAVEPOINT fire");
        } catch (error) {
          await client.query("ROLLBACK TO SAVEPOINT fire");
          log(`cron ${cron.cron_id} skipped its run at ${firedAt.toISOString()}: ${errorBody(error).message}`);
        }
        // Firings missed while no instance ran are not made up: the next is after now.
        const now = new Date();
        await crons.setNextRun(
          client,
          cron.cron_id,
          nextFire(cron.schedule, cron.timezone, firedAt > now ? firedAt : now, cron.end_time),
        );
      }
    });
    return queued.length;
  }
}
