import type pg from "pg";
import type { RunBus } from "./queue/bus.js";
import { toJson } from "./serialise.js";

export interface StoredEvent {
  seq: number;
  event: string;
  /** Already JSON: events are stored and sent as the text the worker serialised once. */
  data: string;
}

interface Pending {
  runId: string;
  seq: number;
  event: string;
  data: string;
  token: string;
  resolve: () => void;
  reject: (error: unknown) => void;
}

const TERMINAL_POLL_MS = 1_000;
/** Events in one statement at most, each its own parameter. */
const MAX_EVENTS = 60_000;

/**
 * Every stream event of every run, in Postgres: a reader on any instance, or one that lost its
 * connection and rejoins with the last event id it saw, reads what it missed and follows the rest.
 * Events written in the same turn of the event loop (a fan-out's updates) share one statement.
 */
export class EventLog {
  private queued: Pending[] = [];
  private readonly insert: (events: number) => string;

  constructor(
    private readonly pool: pg.Pool,
    private readonly schema: string,
    private readonly bus: RunBus,
  ) {
    // The notification is part of the statement, so readers are woken only once the rows are visible.
    // A worker that lost the run's lease (another claimed it since) writes nothing. Each event's JSON
    // is a parameter of its own: inside a jsonb[] literal every quote in it would be escaped, and
    // parsed back, which for a values event is the whole state.
    this.insert = (count) => `WITH rows AS (
        INSERT INTO "${schema}".run_events (run_id, seq, event, data)
        SELECT e.run_id, e.seq, e.event, d.data
        FROM unnest($1::uuid[], $2::int[], $3::text[], $4::bigint[]) WITH ORDINALITY AS e(run_id, seq, event, token, n)
        JOIN (VALUES ${Array.from({ length: count }, (_, i) => `(${i + 1}, $${i + 5}::jsonb)`).join(", ")}) AS d(n, data) ON d.n = e.n
        WHERE EXISTS (SELECT 1 FROM "${schema}".runs r WHERE r.run_id = e.run_id AND r.lease_token = e.token)
        ON CONFLICT DO NOTHING
        RETURNING run_id)
      SELECT ${bus.notifySql("'events'", "run_id::text")} FROM (SELECT DISTINCT run_id FROM rows) AS runs`;
  }

  /** The seq the next event of this run gets: a retried run continues its stream. */
  async nextSeq(runId: string): Promise<number> {
    const { rows } = await this.pool.query<{ next: number }>(
      `SELECT coalesce(max(seq), 0) + 1 AS next FROM "${this.schema}".run_events WHERE run_id = $1`,
      [runId],
    );
    return rows[0]!.next;
  }

  /** Appends an event of a run claimed under the lease `token`. */
  append(runId: string, token: string, seq: number, event: string, data: unknown): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queued.push({ runId, seq, event, data: toJson(data), token, resolve, reject });
      if (this.queued.length === 1) setImmediate(() => void this.flush());
    });
  }

  private async flush(): Promise<void> {
    // Postgres takes 65535 parameters: the rest waits for the next statement.
    const batch = this.queued.splice(0, MAX_EVENTS);
    if (batch.length === 0) return;
    if (this.queued.length) setImmediate(() => void this.flush());
    try {
      await this.pool.query(this.insert(batch.length), [
        batch.map((e) => e.runId),
        batch.map((e) => e.seq),
        batch.map((e) => e.event),
        batch.map((e) => e.token),
        ...batch.map((e) => e.data),
      ]);
      for (const e of batch) e.resolve();
    } catch (error) {
      for (const e of batch) e.reject(error);
    }
  }

  async read(runId: string, afterSeq: number): Promise<StoredEvent[]> {
    const { rows } = await this.pool.query<StoredEvent>(
      `SELECT seq, event, data::text AS data FROM "${this.schema}".run_events
       WHERE run_id = $1 AND seq > $2 ORDER BY seq`,
      [runId, afterSeq],
    );
    return rows;
  }

  /**
   * The run's events after `afterSeq`, as they come, until the run has ended and every event
   * is read, or `signal` aborts.
   */
  async *follow(
    runId: string,
    afterSeq: number,
    hasEnded: () => Promise<boolean>,
    signal: AbortSignal,
  ): AsyncGenerator<StoredEvent> {
    let last = afterSeq;
    while (!signal.aborted) {
      // Checked before reading: a run that has ended has written all its events.
      const ended = await hasEnded();
      const events = await this.read(runId, last);
      for (const event of events) {
        last = event.seq;
        yield event;
      }
      if (ended) return;
      if (events.length === 0) await this.bus.next(runId, ["events", "done"], TERMINAL_POLL_MS, signal);
    }
  }

  async delete(runId: string): Promise<void> {
    await this.pool.query(`DELETE FROM "${this.schema}".run_events WHERE run_id = $1`, [runId]);
  }
}
