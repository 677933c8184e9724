import { Command } from "@langchain/langgraph";
import type pg from "pg";
import type { RunBus } from "./bus.js";
import type { EventLog } from "./events.js";
import type { ServableGraph } from "../state/shared/workflow_definition.js";
import { type CancelAction, type RunQueue, type RunRow } from "./queue.js";
import { errorBody } from "./serialise.js";
import { inTransaction } from "../checkpoints/transaction.js";

/** How often an idle worker looks for runs no notification told it about (a dead worker's). */
const IDLE_POLL_MS = 1_000;

type StopReason = CancelAction | "shutdown";

export interface WorkerContext {
  pool: pg.Pool;
  schema: string;
  queue: RunQueue;
  bus: RunBus;
  events: EventLog;
  graphs: ReadonlyMap<string, ServableGraph>;
  /** Deletes a stateless run's thread when the run ends. */
  deleteThread(threadId: string): Promise<void>;
  log(message: string): void;
}

/**
 * N slots, each a Postgres session that claims a run, holds its thread lock while running it,
 * and records how it ended. A cancel notice for a run this process runs aborts it.
 */
export class RunWorkers {
  private stopping = false;
  /** The idle slots' wake-ups, longest idle first. */
  private readonly idleSlots: (() => void)[] = [];
  private readonly controllers = new Map<string, AbortController>();
  private slots: Promise<void>[] = [];
  private readonly unsubscribe: (() => void)[] = [];

  constructor(private readonly context: WorkerContext) {}

  start(count: number): void {
    const { bus, queue } = this.context;
    // One notice, one run to claim: waking every idle slot sent them all into the claim query,
    // each trying the lock of every active thread, for one of them to win. A slot that finds
    // nothing goes back to idle; the periodic poll still finds what a lost notice would have.
    const wakeOne = () => this.idleSlots.shift()?.();
    this.unsubscribe.push(
      bus.onAny("queued", wakeOne),
      // A run that ends may unblock the next run of its thread.
      bus.onAny("done", wakeOne),
      bus.onAny("cancel", (runId) => {
        const controller = this.controllers.get(runId);
        if (!controller) return;
        void queue.cancelRequested(runId).then((action) => action && controller.abort(action));
      }),
    );
    this.slots = Array.from({ length: count }, () => this.slot());
  }

  /** Stops claiming; runs still going after `graceMs` are handed back for another instance to finish. */
  async stop(graceMs: number): Promise<void> {
    this.stopping = true;
    for (const wake of this.idleSlots.splice(0)) wake();
    const finished = Promise.all(this.slots);
    const timer = setTimeout(() => {
      for (const controller of this.controllers.values()) controller.abort("shutdown" satisfies StopReason);
    }, graceMs);
    await finished;
    clearTimeout(timer);
    for (const off of this.unsubscribe) off();
  }

  get busy(): number {
    return this.controllers.size;
  }

  private idle(): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        const waiting = this.idleSlots.indexOf(done);
        if (waiting >= 0) this.idleSlots.splice(waiting, 1);
        resolve();
      };
      const timer = setTimeout(done, IDLE_POLL_MS * (0.5 + Math.random()));
      this.idleSlots.push(done);
    });
  }

  private async slot(): Promise<void> {
    const { pool, queue, log } = this.context;
    while (!this.stopping) {
      let session: pg.PoolClient | undefined;
      try {
        session = await pool.connect();
        while (!this.stopping) {
          const run = await queue.claim(session, new Set(this.controllers.keys()));
          if (!run) {
            await this.idle();
            continue;
          }
          await this.execute(run);
          await queue.unlockThread(session, run.thread_id);
        }
      } catch (error) {
        // The database went away or refused a statement: the session (and any lock) is dropped
        // below, the run is claimed again once its lock is free; this slot tries again shortly.
        log(`worker: ${errorBody(error).message}`);
        await this.idle();
      } finally {
        session?.release(true);
      }
    }
  }

  private async execute(run: RunRow): Promise<void> {
    const { queue, events } = this.context;
    const controller = new AbortController();
    this.controllers.set(run.run_id, controller);
    // A cancel sent between the claim and now found no controller to abort.
    const requested = await queue.cancelRequested(run.run_id);
    if (requested) controller.abort(requested);

    let seq = await events.nextSeq(run.run_id);
    const appends = new Set<Promise<void>>();
    const emit = (event: string, data: unknown) => {
      const append = events.append(run.run_id, seq++, event, data);
      appends.add(append);
      void append.then(() => appends.delete(append), () => undefined);
    };
    const flushed = () => Promise.all(appends);
    try {
      emit("metadata", { run_id: run.run_id, attempt: run.attempt });
      await this.stream(run, controller.signal, emit);
      await flushed();
      await queue.finish(run.run_id, "success");
    } catch (error) {
      await flushed().catch(() => undefined);
      const reason = controller.signal.aborted ? (controller.signal.reason as StopReason) : undefined;
      if (reason === "shutdown") {
        await queue.release(run.run_id);
      } else if (reason === "rollback") {
        await this.rollBack(run);
      } else if (reason === "interrupt") {
        await queue.finish(run.run_id, "interrupted");
      } else {
        emit("error", errorBody(error));
        await flushed().catch(() => undefined);
        await queue.finish(run.run_id, "error");
      }
    } finally {
      this.controllers.delete(run.run_id);
      if (run.temporary) await this.context.deleteThread(run.thread_id);
    }
  }

  private async stream(run: RunRow, signal: AbortSignal, emit: (event: string, data: unknown) => void): Promise<void> {
    const graph = this.context.graphs.get(run.graph_id);
    if (!graph) throw new Error(`graph ${run.graph_id} is not served by this instance`);
    const { kwargs } = run;
    // A retried run that saved a checkpoint continues from the thread's head: its input is in
    // there, and so are its completed steps and branches, which LangGraph does not run again.
    const resumed = run.attempt > 1 && (await this.hasCheckpoint(run));
    const input = resumed ? null : kwargs.command ? new Command(kwargs.command as ConstructorParameters<typeof Command>[0]) : (kwargs.input ?? null);
    const requested = kwargs.stream_mode;
    const wantsEvents = requested.includes("events");
    const graphModes = new Set(requested.filter((mode) => mode !== "events").map((mode) => (mode === "messages-tuple" ? "messages" : mode)));
    // LangGraph streams nothing without a mode; with only `events` asked for, the values go unsent.
    if (graphModes.size === 0) graphModes.add("values");
    const options = {
      configurable: {
        ...kwargs.config.configurable,
        thread_id: run.thread_id,
        run_id: run.run_id,
        ...(!resumed && kwargs.checkpoint_id ? { checkpoint_id: kwargs.checkpoint_id } : {}),
      },
      ...(kwargs.context !== undefined ? { context: kwargs.context } : {}),
      metadata: { ...kwargs.config.metadata, run_id: run.run_id, run_attempt: run.attempt },
      ...(kwargs.config.tags ? { tags: kwargs.config.tags } : {}),
      ...(kwargs.config.recursion_limit !== undefined ? { recursionLimit: kwargs.config.recursion_limit } : {}),
      ...(kwargs.interrupt_before ? { interruptBefore: kwargs.interrupt_before } : {}),
      ...(kwargs.interrupt_after ? { interruptAfter: kwargs.interrupt_after } : {}),
      streamMode: [...graphModes],
      subgraphs: kwargs.subgraphs ?? false,
      signal,
    };
    const emitChunk = (chunk: unknown) => {
      const [namespace, mode, data] = (kwargs.subgraphs ? chunk : [[], ...(chunk as unknown[])]) as [string[], string, unknown];
      if (!requested.includes(mode) && !(mode === "messages" && requested.includes("messages-tuple"))) return;
      emit(namespace.length ? `${mode}|${namespace.join("|")}` : mode, data);
    };
    if (!wantsEvents) {
      // graph.stream, not streamEvents, unless asked: streamEvents costs a callback per runnable.
      for await (const chunk of await graph.stream(input, options)) emitChunk(chunk);
      return;
    }
    // The graph's own chunks come as the root run's on_chain_stream events; everything else is an `events` event.
    for await (const event of graph.streamEvents(input, { ...options, runId: run.run_id, version: "v2" })) {
      if (event.tags?.includes("langsmith:hidden")) continue;
      if (event.event === "on_chain_stream" && event.run_id === run.run_id) emitChunk((event.data as { chunk: unknown }).chunk);
      else emit("events", event);
    }
  }

  /** Runs of a thread are serialised, so every checkpoint newer than the run's starting head is the run's. */
  private async hasCheckpoint(run: RunRow): Promise<boolean> {
    const { rowCount } = await this.context.pool.query(
      `SELECT 1 FROM "${this.context.schema}".checkpoints WHERE thread_id = $1 AND checkpoint_id > $2 LIMIT 1`,
      [run.thread_id, run.head_checkpoint ?? ""],
    );
    return (rowCount ?? 0) > 0;
  }

  /**
   * A rollback cancel: the run and everything it saved are gone, as if it never ran. Its
   * checkpoints are those after its starting head; at the checkpoint it started from, its writes
   * (a resume value, tasks it finished) are those not there when it was claimed; its blobs are
   * those no remaining checkpoint of the thread refers to. The worker still holds the thread's
   * lock, so nothing else writes to the thread meanwhile.
   */
  private async rollBack(run: RunRow): Promise<void> {
    const { pool, schema, bus } = this.context;
    const t = (name: string) => `"${schema}".${name}`;
    await inTransaction(pool, async (client) => {
      const since = [run.thread_id, run.head_checkpoint ?? ""];
      await client.query(`DELETE FROM ${t("checkpoint_writes")} WHERE thread_id = $1 AND checkpoint_id > $2`, since);
      const start = run.kwargs.checkpoint_id ?? run.head_checkpoint;
      if (start) {
        await client.query(
          `DELETE FROM ${t("checkpoint_writes")} w WHERE thread_id = $1 AND checkpoint_ns = '' AND checkpoint_id = $2
           AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements($3::jsonb) e WHERE e->>0 = w.task_id AND (e->>1)::int = w.idx)`,
          [run.thread_id, start, JSON.stringify(run.start_writes ?? [])],
        );
      }
      await client.query(`DELETE FROM ${t("checkpoints")} WHERE thread_id = $1 AND checkpoint_id > $2`, since);
      await client.query(
        `DELETE FROM ${t("checkpoint_blobs")} b WHERE thread_id = $1 AND NOT EXISTS (
           SELECT 1 FROM ${t("checkpoints")} c WHERE c.thread_id = b.thread_id AND c.checkpoint_ns = b.checkpoint_ns
             AND c.checkpoint->'channel_versions'->>b.channel = b.version)`,
        [run.thread_id],
      );
      await client.query(`DELETE FROM ${t("run_events")} WHERE run_id = $1`, [run.run_id]);
      await client.query(`DELETE FROM ${t("runs")} WHERE run_id = $1`, [run.run_id]);
    });
    await bus.notify("done", run.run_id);
  }
}
