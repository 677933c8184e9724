import { Command } from "@langchain/langgraph";
import type pg from "pg";
import type { RunBus } from "./bus.js";
import type { EventLog } from "../events.js";
import type { ServableGraph } from "../../state/shared/workflow_definition.js";
import type { CancelAction, RunOutcome, RunQueue, RunRow } from "./runs.js";
import { errorBody } from "../serialise.js";
import { deleteUnreferencedBlobs } from "../storage/threads.js";
import { inTransaction } from "../../checkpoints/transaction.js";
import { LEASE_TOKEN_KEY, LeaseHolder, leaseLost, type ThreadFence } from "../../checkpoints/thread_lock.js";
import { LeaseLostError } from "../../state/shared/errors.js";
import type { Logger } from "pino";
import { RunLog, runInFlight } from "../../checkpoints/log.js";

/** How often an idle process looks for runs no notification told it about (a dead worker's, once its lease expired). */
const IDLE_POLL_MS = 1_000;
/** Most runs one claim statement takes. */
const CLAIM_BATCH = 32;

type StopReason = CancelAction | "shutdown" | "lost";

export interface WorkerContext {
  pool: pg.Pool;
  schema: string;
  /** The checkpointer's fence: the leases this process claims are registered there. */
  fence: ThreadFence;
  queue: RunQueue;
  bus: RunBus;
  events: EventLog;
  graphs: ReadonlyMap<string, ServableGraph>;
  /** Deletes a stateless run's thread when the run ends. */
  deleteThread(threadId: string): Promise<void>;
  log: Logger;
}

/**
 * Runs up to N runs at once, each owned through its thread's lease and holding no connection:
 * its statements borrow one from the pool in turn, so a run waiting on a model holds nothing. One
 * claim loop per process takes runs in batches; one heartbeat renews all of its leases. A cancel
 * notice for a run this process runs aborts it; a lease found lost stops its run at once.
 */
export class RunWorkers {
  private stopping = false;
  private capacity = 0;
  /** A notice came since the last claim: the claim loop does not sleep before the next. */
  private nudged = false;
  private wakeClaimer: (() => void) | undefined;
  private readonly controllers = new Map<string, AbortController>();
  /** The run this process runs on each thread it holds. */
  private readonly runOfThread = new Map<string, string>();
  private readonly executions = new Set<Promise<void>>();
  private claimer: Promise<void> = Promise.resolve();
  private readonly unsubscribe: (() => void)[] = [];
  private readonly leases: LeaseHolder;

  constructor(private readonly context: WorkerContext) {
    const { pool, schema, fence, queue } = context;
    this.leases = new LeaseHolder({ pool, schema, fence }, queue.workerId, (threadId) => {
      const runId = this.runOfThread.get(threadId);
      if (runId) this.controllers.get(runId)?.abort("lost" satisfies StopReason);
    });
  }

  start(count: number): void {
    const { bus, queue } = this.context;
    this.capacity = count;
    if (count === 0) return;
    const nudge = () => {
      this.nudged = true;
      this.wakeClaimer?.();
    };
    this.unsubscribe.push(
      bus.onAny("queued", nudge),
      // A run that ends may unblock the next run of its thread.
      bus.onAny("done", nudge),
      bus.onAny("cancel", (runId) => {
        const controller = this.controllers.get(runId);
        if (!controller) return;
        void queue.cancelRequested(runId).then(
          (action) => action && controller.abort(action),
          () => undefined,
        );
      }),
    );
    this.claimer = this.claimLoop();
  }

  /** Stops claiming; runs still going after `graceMs` are handed back for another instance to finish. */
  async stop(graceMs: number): Promise<void> {
    this.stopping = true;
    this.wakeClaimer?.();
    await this.claimer;
    const timer = setTimeout(() => {
      for (const controller of this.controllers.values()) controller.abort("shutdown" satisfies StopReason);
    }, graceMs);
    await Promise.all(this.executions);
    clearTimeout(timer);
    this.leases.stop();
    for (const off of this.unsubscribe) off();
  }

  get busy(): number {
    return this.controllers.size;
  }

  private idle(): Promise<void> {
    if (this.nudged || this.stopping) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.wakeClaimer?.(), IDLE_POLL_MS * (0.5 + Math.random()));
      this.wakeClaimer = () => {
        clearTimeout(timer);
        this.wakeClaimer = undefined;
        resolve();
      };
    });
  }

  private async claimLoop(): Promise<void> {
    const { queue, log } = this.context;
    while (!this.stopping) {
      this.nudged = false;
      const wanted = Math.min(this.capacity - this.controllers.size, CLAIM_BATCH);
      let claimed = 0;
      if (wanted > 0) {
        try {
          const runs = await queue.claim(wanted, new Set(this.controllers.keys()));
          claimed = runs.length;
          for (const run of runs) {
            const execution = this.execute(run).finally(() => {
              this.executions.delete(execution);
              this.nudged = true;
              this.wakeClaimer?.();
            });
            this.executions.add(execution);
          }
        } catch (error) {
          // The database went away or refused the claim: nothing was taken; try again shortly.
          log.error({ err: errorBody(error).message }, "worker: cannot claim runs; trying again shortly");
        }
      }
      // A full batch may have left more behind: claim again at once.
      if (wanted === 0 || claimed < wanted) await this.idle();
    }
  }

  private async execute(run: RunRow): Promise<void> {
    const { queue, events } = this.context;
    const token = run.lease_token!;
    const started = performance.now();
    const runLog = new RunLog(this.context.log, {
      thread_id: run.thread_id,
      run_id: run.run_id,
      graph_id: run.graph_id,
    });
    const log = () => runLog.log;
    const forgetRunLog = runInFlight(run.run_id, runLog);
    let status: string | undefined;
    const controller = new AbortController();
    this.controllers.set(run.run_id, controller);
    this.runOfThread.set(run.thread_id, run.run_id);
    this.leases.adopt(run.thread_id, token);
    let lost = false;
    try {
      // A cancel sent between the claim and now found no controller to abort.
      const requested = await queue.cancelRequested(run.run_id);
      if (requested) controller.abort(requested);
      let seq = await events.nextSeq(run.run_id);
      const appends = new Set<Promise<void>>();
      const emit = (event: string, data: unknown) => {
        const append = events.append(run.run_id, token, seq++, event, data);
        appends.add(append);
        void append.then(
          () => appends.delete(append),
          () => undefined,
        );
      };
      const flushed = () => Promise.all(appends);
      try {
        emit("metadata", { run_id: run.run_id, attempt: run.attempt });
        await this.stream(run, controller.signal, emit);
        await flushed();
        await queue.finish(run.run_id, token, "success", await this.outcome(run));
        status = "success";
      } catch (error) {
        if (error instanceof LeaseLostError) controller.abort("lost" satisfies StopReason);
        await flushed().catch(() => undefined);
        const reason = controller.signal.aborted ? (controller.signal.reason as StopReason) : undefined;
        lost = reason === "lost";
        if (lost) {
          status = "lost";
          log().warn(
            `lost the lease on run ${run.run_id} (thread ${run.thread_id}): another worker took it over; stopped it here, writing nothing more for it`,
          );
        } else if (reason === "shutdown") {
          await queue.release(run.run_id, token);
          status = "released";
        } else if (reason === "rollback") {
          await this.rollBack(run, token);
          status = "rolled back";
        } else if (reason === "interrupt") {
          await queue.finish(run.run_id, token, "interrupted", await this.outcome(run));
          status = "interrupted";
        } else {
          emit("error", errorBody(error));
          await flushed().catch(() => undefined);
          await queue.finish(run.run_id, token, "error", await this.outcome(run, error));
          status = "error";
          log().warn({ err: errorBody(error).message }, "run failed");
        }
      }
      if (run.temporary && !lost) await this.context.deleteThread(run.thread_id);
    } catch (error) {
      // The database failed while recording the end: the lease expires and another worker resumes the run.
      log().error(
        { err: errorBody(error).message },
        "worker: the database failed while recording the run's end; its lease expires and another worker resumes it",
      );
    } finally {
      forgetRunLog();
      if (status && this.context.log.isLevelEnabled("info"))
        log().info({ status, attempt: run.attempt, ms: Math.round(performance.now() - started) }, "run finished");
      this.controllers.delete(run.run_id);
      this.runOfThread.delete(run.thread_id);
      this.leases.forget(run.thread_id, token);
    }
  }

  private async stream(run: RunRow, signal: AbortSignal, emit: (event: string, data: unknown) => void): Promise<void> {
    const graph = this.context.graphs.get(run.graph_id);
    if (!graph) throw new Error(`graph ${run.graph_id} is not served by this instance`);
    const { kwargs } = run;
    // A retried run that saved a checkpoint continues from the thread's head: its input is in
    // there, and so are its completed steps and branches, which LangGraph does not run again.
    const resumed = run.attempt > 1 && (await this.hasCheckpoint(run));
    const input = resumed
      ? null
      : kwargs.command
        ? new Command(kwargs.command as ConstructorParameters<typeof Command>[0])
        : (kwargs.input ?? null);
    const requested = kwargs.stream_mode;
    const wantsEvents = requested.includes("events");
    const graphModes = new Set(
      requested.filter((mode) => mode !== "events").map((mode) => (mode === "messages-tuple" ? "messages" : mode)),
    );
    // LangGraph streams nothing without a mode; with only `events` asked for, the values go unsent.
    if (graphModes.size === 0) graphModes.add("values");
    const options = {
      configurable: {
        ...kwargs.config.configurable,
        thread_id: run.thread_id,
        run_id: run.run_id,
        [LEASE_TOKEN_KEY]: run.lease_token,
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
      const [namespace, mode, data] = (kwargs.subgraphs ? chunk : [[], ...(chunk as unknown[])]) as [
        string[],
        string,
        unknown,
      ];
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
      if (event.event === "on_chain_stream" && event.run_id === run.run_id)
        emitChunk((event.data as { chunk: unknown }).chunk);
      else emit("events", event);
    }
  }

  /** What the run's webhook reports: the thread's values as the run left them, and its error. */
  private async outcome(run: RunRow, error?: unknown): Promise<RunOutcome> {
    if (!run.kwargs.webhook) return {};
    const graph = this.context.graphs.get(run.graph_id);
    const state = await graph?.getState({ configurable: { thread_id: run.thread_id } }).catch(() => undefined);
    return { values: state?.values ?? null, ...(error === undefined ? {} : { error: errorBody(error).message }) };
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
   * those no remaining checkpoint of the thread refers to. The transaction first deletes the
   * thread's lease, still this worker's, so no one else can take the thread before it commits.
   */
  private async rollBack(run: RunRow, token: string): Promise<void> {
    const { pool, schema, bus } = this.context;
    const t = (name: string) => `"${schema}".${name}`;
    await inTransaction(pool, async (client) => {
      const { rowCount } = await client.query(`DELETE FROM ${t("thread_leases")} WHERE token = $1`, [token]);
      if (!rowCount) throw leaseLost(run.thread_id);
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
      await deleteUnreferencedBlobs(client, schema, run.thread_id);
      await client.query(`DELETE FROM ${t("run_events")} WHERE run_id = $1`, [run.run_id]);
      await client.query(`DELETE FROM ${t("runs")} WHERE run_id = $1`, [run.run_id]);
    });
    await bus.notify("done", run.run_id);
  }
}
