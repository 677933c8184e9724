import { Command } from "@langchain/langgraph";
import type pg from "pg";
import { compileWorkflow } from "../graphs/parallel_workflow.js";
import { InputError, type Task } from "../state/input.js";
import type { Settings } from "../state/configuration.js";
import type { ReviewDecisionInput, ReviewRequest } from "../state/review.js";
import type { TimelineEvent, WorkflowStateType } from "../state/workflow.js";

export type Workflow = ReturnType<typeof compileWorkflow>;
export type RunStatus = "interrupted" | "completed" | "rejected" | "failed";

export interface Outcome {
  threadId: string;
  status: RunStatus;
  next: string[];
  qualityScore: number | null;
  report: string | null;
  review?: ReviewRequest;
  failureReason?: string;
}

export interface DriveOptions {
  /** Called with each timeline event as nodes finish. */
  onEvent?: (event: TimelineEvent) => void;
  /** Asked at each review point; returning undefined leaves the thread paused. */
  review?: (request: ReviewRequest) => Promise<ReviewDecisionInput | undefined>;
  signal?: AbortSignal;
}

export const threadConfig = (threadId: string) => ({ configurable: { thread_id: threadId } });

/** Where a thread stands, read from its latest checkpoint. */
export async function outcomeOf(workflow: Workflow, threadId: string): Promise<Outcome> {
  const snapshot = await workflow.getState(threadConfig(threadId));
  const values = snapshot.values as Partial<WorkflowStateType>;
  const review = snapshot.tasks.flatMap((t) => t.interrupts ?? [])[0]?.value as ReviewRequest | undefined;
  const base = {
    threadId,
    next: [...snapshot.next],
    qualityScore: values.qualityReport?.score ?? null,
    report: values.finalReport ?? null,
    ...(values.failureReason ? { failureReason: values.failureReason } : {}),
  };
  if (review) return { ...base, status: "interrupted", review };
  const status = values.status === "running" || values.status === undefined ? "failed" : values.status;
  return { ...base, status };
}

async function stream(workflow: Workflow, input: unknown, threadId: string, options: DriveOptions) {
  const chunks = await workflow.stream(input as never, {
    ...threadConfig(threadId),
    streamMode: "updates",
    ...(options.signal ? { signal: options.signal } : {}),
  });
  for await (const chunk of chunks) {
    for (const update of Object.values(chunk as Record<string, unknown>)) {
      const events = (update as { executionTimeline?: TimelineEvent[] } | null)?.executionTimeline;
      for (const event of events ?? []) options.onEvent?.(event);
    }
  }
}

/** Runs the thread until it finishes or pauses with no reviewer to answer. */
async function drive(workflow: Workflow, input: unknown, threadId: string, options: DriveOptions): Promise<Outcome> {
  let next: unknown = input;
  for (;;) {
    await stream(workflow, next, threadId, options);
    const outcome = await outcomeOf(workflow, threadId);
    if (outcome.status !== "interrupted" || !options.review) return outcome;
    const decision = await options.review(outcome.review!);
    if (!decision) return outcome;
    next = new Command({ resume: decision });
  }
}

/**
 * Two processes driving one thread would interleave their writes: a session-level
 * advisory lock per thread lets exactly one of them run it.
 */
export async function withThreadLock<T>(pool: pg.Pool, threadId: string, fn: () => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    const key = `orchestra:thread:${threadId}`;
    const { rows } = await client.query("SELECT pg_try_advisory_lock(hashtext($1)) AS locked", [key]);
    if (!rows[0].locked) {
      throw new InputError(`thread ${threadId} is being run by another process right now: wait for it to pause or finish`);
    }
    try {
      return await fn();
    } finally {
      await client.query("SELECT pg_advisory_unlock(hashtext($1))", [key]).catch(() => undefined);
    }
  } finally {
    client.release();
  }
}

export async function startRun(
  workflow: Workflow,
  pool: pg.Pool,
  params: { taskQueue: Task[]; settings: Settings; threadId: string },
  options: DriveOptions = {},
): Promise<Outcome> {
  const { threadId } = params;
  return withThreadLock(pool, threadId, async () => {
    // Checked under the lock: two runs naming one --thread cannot both start it.
    if ((await workflow.getState(threadConfig(threadId))).createdAt) {
      throw new InputError(`thread ${threadId} already exists: resume it with 'orchestra resume ${threadId}', or pick a new --thread`);
    }
    return drive(workflow, { taskQueue: params.taskQueue, settings: params.settings }, threadId, options);
  });
}

/**
 * Continues a thread from any process: with a decision when it waits for review, or
 * from its last checkpoint when the process running it died.
 */
export async function resumeRun(
  workflow: Workflow,
  pool: pg.Pool,
  params: { threadId: string; decision?: ReviewDecisionInput },
  options: DriveOptions = {},
): Promise<Outcome> {
  const { threadId, decision } = params;
  return withThreadLock(pool, threadId, async () => {
    const snapshot = await workflow.getState(threadConfig(threadId));
    if (!snapshot.createdAt) throw new InputError(`no thread ${threadId} in the checkpointer: check the id`);
    const current = await outcomeOf(workflow, threadId);
    if (current.status === "interrupted") {
      const answer = decision ?? (options.review ? await options.review(current.review!) : undefined);
      if (!answer) {
        throw new InputError(
          `thread ${threadId} is waiting for review at ${current.review!.point}: pass --approve, --reject or --feedback TEXT`,
        );
      }
      return drive(workflow, new Command({ resume: answer }), threadId, options);
    }
    // `next` leaves out tasks whose writes were saved before a crash; any task at all means unfinished.
    if (snapshot.tasks.length === 0) {
      throw new InputError(`thread ${threadId} has already finished (${current.status}): nothing to resume`);
    }
    if (decision) {
      throw new InputError(`thread ${threadId} is not waiting for review: resume it without a decision`);
    }
    return drive(workflow, null, threadId, options);
  });
}
