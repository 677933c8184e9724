import { EventEmitter } from "node:events";
import pg from "pg";

/** What a notification says happened to a run. */
export type RunNotice = "queued" | "events" | "done" | "cancel";

/**
 * Postgres LISTEN/NOTIFY between every instance on one database: a run was queued (wake a
 * worker), has new stream events or ended (wake its readers), or is to be cancelled (reach
 * the worker running it, wherever it is). Notifications are hints: every waiter also polls,
 * so one lost with a dropped connection only delays it. LISTEN has a connection of its own, outside
 * the pool: the one session a process keeps open beside the pool's.
 */
export class RunBus {
  private readonly emitter = new EventEmitter().setMaxListeners(0);

  private constructor(
    private readonly pool: pg.Pool,
    private readonly channel: string,
    private readonly listener: pg.Client,
  ) {}

  static async open(pool: pg.Pool, schema: string): Promise<RunBus> {
    // Each schema is a separate deployment (tests run one per schema), so is its channel.
    const channel = `orchestra_runs_${schema}`.slice(0, 63);
    const { connectionString, connectionTimeoutMillis } = pool.options;
    const listener = new pg.Client({ connectionString, connectionTimeoutMillis });
    // A dropped listener must not crash the process: waiters poll, and cancels wait for the next one.
    listener.on("error", () => {});
    await listener.connect();
    const bus = new RunBus(pool, channel, listener);
    listener.on("notification", (message) => {
      if (message.channel !== channel || !message.payload) return;
      const [kind, runId] = message.payload.split(":") as [RunNotice, string];
      bus.emitter.emit(kind, runId);
      bus.emitter.emit(`${kind}:${runId}`);
    });
    await listener.query(`LISTEN "${channel}"`);
    return bus;
  }

  async notify(kind: RunNotice, runId: string): Promise<void> {
    await this.pool.query("SELECT pg_notify($1, $2)", [this.channel, `${kind}:${runId}`]);
  }

  /** The statement fragment that notifies inside a caller's own statement (so it fires on commit). */
  notifySql(kindParam: string, runIdParam: string): string {
    return `pg_notify('${this.channel}', ${kindParam} || ':' || ${runIdParam})`;
  }

  /** Calls `handler` with the run id of every notice of this kind; returns the unsubscribe. */
  onAny(kind: RunNotice, handler: (runId: string) => void): () => void {
    this.emitter.on(kind, handler);
    return () => this.emitter.off(kind, handler);
  }

  /** Resolves at the next notice about this run (of any of `kinds`), or after `pollMs`. */
  next(runId: string, kinds: RunNotice[], pollMs: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        for (const kind of kinds) this.emitter.off(`${kind}:${runId}`, done);
        signal?.removeEventListener("abort", done);
        resolve();
      };
      const timer = setTimeout(done, pollMs);
      for (const kind of kinds) this.emitter.once(`${kind}:${runId}`, done);
      signal?.addEventListener("abort", done, { once: true });
    });
  }

  async close(): Promise<void> {
    await this.listener.query(`UNLISTEN "${this.channel}"`).catch(() => undefined);
    await this.listener.end().catch(() => undefined);
  }
}
