import type pg from "pg";
import { inTransaction } from "../checkpoints/transaction.js";
import type { RunQueueing, ServedEntry } from "./context.js";
import type { RunBus } from "./queue/bus.js";
import type { RunRow } from "./queue/runs.js";
import { errorBody } from "./serialise.js";
import type { EventWaitRow, EventWaitsRepo } from "./storage/trigger_events.js";

/** How often each instance looks for waits past their deadline. */
const SWEEP_MS = 1_000;
/** Waits one sweep transaction times out. */
const SWEEP_BATCH = 16;

/** What a waiting step's interrupt holds (the engine's EventWaitRequest, as the server reads it). */
interface WaitRequest {
  kind: "wait_event";
  stepId: string;
  definition: string;
  correlationKey: string;
  filter?: string;
  deadline: string;
  onTimeout: string;
}

const isWaitRequest = (value: unknown): value is WaitRequest =>
  typeof value === "object" &&
  value !== null &&
  (value as { kind?: unknown }).kind === "wait_event" &&
  typeof (value as { correlationKey?: unknown }).correlationKey === "string";

/**
 * Queues the run that resumes a waiting thread with `answer` (LangGraph's `command: {resume}`), in
 * the caller's transaction, and removes the wait with it: the wait is answered once.
 */
export async function queueResume(
  client: pg.PoolClient,
  runs: RunQueueing,
  repo: EventWaitsRepo,
  wait: EventWaitRow,
  answer: object,
  metadata: Record<string, unknown>,
): Promise<RunRow> {
  const prepared = await runs.prepare(wait.thread_id, {
    assistant_id: wait.graph_id,
    command: { resume: answer },
    metadata,
    multitask_strategy: "enqueue",
  });
  const { run } = await runs.queue(prepared, client);
  await repo.delete(client, wait.thread_id, wait.step_id);
  return run;
}

/**
 * The threads asleep in a wait_event step, on every instance: when a run ends, its thread's
 * pending interrupts are read and its waits recorded (idempotently: every instance hears the
 * notice); a sweep resumes the waits past their deadline with a timeout, each claimed by one
 * instance (FOR UPDATE SKIP LOCKED) in the transaction that queues its resume.
 */
export class EventWaits {
  private stopped = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private unsubscribe: (() => void) | undefined;
  private readonly recording = new Set<Promise<void>>();

  constructor(
    private readonly options: {
      pool: pg.Pool;
      bus: RunBus;
      repo: EventWaitsRepo;
      graphs: ReadonlyMap<string, ServedEntry>;
      runs: RunQueueing;
      log(message: string): void;
    },
  ) {}

  start(): void {
    this.unsubscribe = this.options.bus.onAny("done", (runId) => {
      const recorded = this.recordWaits(runId).catch((error: unknown) =>
        this.options.log(`event waits: run ${runId}: ${errorBody(error).message}`),
      );
      this.recording.add(recorded);
      void recorded.then(() => this.recording.delete(recorded));
    });
    this.loop = this.sweepLoop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    this.wake?.();
    await this.loop;
    await Promise.all(this.recording);
  }

  /** Records the waits of the thread a finished run left asleep in wait_event steps. */
  async recordWaits(runId: string): Promise<void> {
    const run = await this.options.repo.succeededRun(runId);
    const entry = run && this.options.graphs.get(run.graph_id);
    if (!run || !entry) return;
    const snapshot = await entry.graph.getState({ configurable: { thread_id: run.thread_id } });
    const requests = snapshot.tasks
      .flatMap((task) => (task.interrupts ?? []).map((pending) => pending.value))
      .filter(isWaitRequest);
    for (const request of requests) {
      await this.options.repo.record({
        thread_id: run.thread_id,
        step_id: request.stepId,
        graph_id: run.graph_id,
        definition: request.definition,
        correlation_key: request.correlationKey,
        filter: request.filter ?? null,
        deadline: request.deadline,
        on_timeout: request.onTimeout,
      });
    }
  }

  /** Resumes the waits past their deadline with a timeout; returns how many. */
  async sweep(): Promise<number> {
    const { pool, repo, runs, log } = this.options;
    return inTransaction(pool, async (client) => {
      let resumed = 0;
      for (const wait of await repo.lockDue(client, SWEEP_BATCH)) {
        await client.query("SAVEPOINT resume");
        try {
          await queueResume(
            client,
            runs,
            repo,
            wait,
            { kind: "timeout" },
            { event_wait: wait.step_id, timed_out: true },
          );
          await client.query("RELEASE SAVEPOINT resume");
          resumed++;
        } catch (error) {
          await client.query("ROLLBACK TO SAVEPOINT resume");
          log(
            `event waits: the timeout of thread ${wait.thread_id} step ${wait.step_id} is retried: ${errorBody(error).message}`,
          );
        }
      }
      return resumed;
    });
  }

  private async sweepLoop(): Promise<void> {
    while (!this.stopped) {
      try {
        await this.sweep();
      } catch (error) {
        this.options.log(`event waits: ${errorBody(error).message}`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, SWEEP_MS);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }
}
