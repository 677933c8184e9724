import { Command, type StateSnapshot } from "@langchain/langgraph";
import type { RunnableConfig } from "@langchain/core/runnables";
import { BaseCheckpointSaver, copyCheckpoint, uuid6 } from "@langchain/langgraph-checkpoint";
import { withThreadLock, type ThreadStore } from "../../checkpoints/thread_lock.js";
import type { compileWorkflow } from "../../graphs/parallel_workflow.js";
import type { RunStatus } from "../workflow_cli.js";
import { existingSnapshot, threadConfig } from "../thread_state.js";
import type { Task } from "../../state/parallel_workflow/input.js";
import { InputError } from "../../state/shared/errors.js";
import type { Settings } from "../../state/parallel_workflow/configuration.js";
import type { ReviewDecisionInput, ReviewPoint } from "../../state/shared/review.js";
import { reviewEditUpdate } from "../../state/parallel_workflow/review_edit.js";
import type { ReviewRequest, TimelineEvent, WorkflowStateType } from "../../state/parallel_workflow/workflow.js";
import { shellCommand } from "../shell_command.js";

/** The research workflow compiled, as the registry's definition compiles it. */
export type Workflow = ReturnType<typeof compileWorkflow>;

export interface Outcome {
  threadId: string;
  status: RunStatus;
  next: string[];
  qualityScore: number | null;
  report: string | null;
  review?: ReviewRequest;
  failureReason?: string;
}

/** Live progress: what the `tasks`, `updates` and `checkpoints` stream modes report. */
export interface RunObserver {
  taskStarted(name: string, input: unknown): void | Promise<void>;
  nodeUpdated(name: string, update: Partial<WorkflowStateType>): void;
  /** A super-step's checkpoint was saved; `next` is what runs after it. */
  stepSaved(step: number, next: string[]): void;
  /** A resume or replay starts from this state: what its branches had done by then. */
  restore(values: Partial<WorkflowStateType>): void;
}

/** A review the reviewer answered by editing the state rather than deciding. */
export interface ReviewEditRequest {
  edit: unknown;
  reviewer: string;
}

export interface DriveOptions {
  /** Called with each timeline event as nodes finish. */
  onEvent?: (event: TimelineEvent) => void;
  observer?: RunObserver;
  /** Asked at each review point; returning undefined leaves the thread paused. */
  review?: (
    request: ReviewRequest,
    state: WorkflowStateType,
  ) => Promise<ReviewDecisionInput | ReviewEditRequest | undefined>;
  signal?: AbortSignal;
}

/** Where a thread stands, read from its latest checkpoint. */
export function outcomeIn(threadId: string, snapshot: StateSnapshot): Outcome {
  const values = snapshot.values as Partial<WorkflowStateType>;
  const review = snapshot.tasks.flatMap((t) => t.interrupts ?? [])[0]?.value as ReviewRequest | undefined;
  const base = {
    threadId,
    // A review re-asked within one task (an API client sent an invalid decision) leaves `next`
    // empty while the task still waits: the waiting tasks are what runs next.
    next: snapshot.next.length
      ? [...snapshot.next]
      : snapshot.tasks.filter((t) => t.interrupts?.length).map((t) => t.name),
    qualityScore: values.qualityReport?.score ?? null,
    report: values.finalReport ?? null,
    ...(values.failureReason ? { failureReason: values.failureReason } : {}),
  };
  if (review) return { ...base, status: "interrupted", review };
  if (values.status === "running" || values.status === undefined) {
    // `next` leaves out tasks whose writes were saved before a crash; any task at all means unfinished.
    return { ...base, status: snapshot.tasks.length > 0 ? "running" : "failed" };
  }
  return { ...base, status: values.status };
}

async function stream(workflow: Workflow, input: unknown, config: RunnableConfig, options: DriveOptions) {
  const { observer } = options;
  // The extra modes cost a values snapshot per step: only a live view pays for them.
  const streamMode = observer ? (["updates", "tasks", "checkpoints"] as const) : (["updates"] as const);
  const chunks = await workflow.stream(input as never, {
    ...config,
    streamMode: [...streamMode],
    ...(options.signal ? { signal: options.signal } : {}),
  });
  for await (const [mode, payload] of chunks as AsyncIterable<[string, any]>) {
    if (mode === "updates") {
      for (const [node, update] of Object.entries(payload as Record<string, Partial<WorkflowStateType> | null>)) {
        if (!update || node === "__interrupt__") continue;
        observer?.nodeUpdated(node, update);
        for (const event of update.executionTimeline ?? []) options.onEvent?.(event);
      }
    } else if (mode === "tasks" && "input" in payload) {
      await observer?.taskStarted(payload.name, payload.input);
    } else if (mode === "checkpoints") {
      observer?.stepSaved(payload.metadata?.step ?? 0, payload.next);
    }
  }
}

/** Runs the thread until it finishes or pauses with no reviewer to answer. */
async function drive(
  workflow: Workflow,
  input: unknown,
  threadId: string,
  options: DriveOptions,
  from: RunnableConfig = threadConfig(threadId),
): Promise<Outcome> {
  await stream(workflow, input, from, options);
  return answerReviews(workflow, threadId, options);
}

/** Puts each review point to the reviewer, if there is one, and runs on with the answer. */
async function answerReviews(workflow: Workflow, threadId: string, options: DriveOptions): Promise<Outcome> {
  for (;;) {
    const snapshot = await workflow.getState(threadConfig(threadId));
    const outcome = outcomeIn(threadId, snapshot);
    if (outcome.status !== "interrupted" || !options.review) return outcome;
    const answer = await options.review(outcome.review!, snapshot.values as WorkflowStateType);
    if (!answer) return outcome;
    if ("edit" in answer) {
      // Unchanged: ask again. Changed: the reviewed node runs on the edited state and asks anew.
      if (!(await applyReviewEdit(workflow, threadId, outcome.review!.point, answer))) continue;
      await stream(workflow, null, threadConfig(threadId), options);
    } else {
      await stream(workflow, new Command({ resume: answer }), threadConfig(threadId), options);
    }
  }
}

async function valuesOf(workflow: Workflow, threadId: string): Promise<WorkflowStateType> {
  return (await workflow.getState(threadConfig(threadId))).values as WorkflowStateType;
}

/**
 * Applies a reviewer's edit of the reviewable state with updateState. Nothing is written
 * when the edit does not fit (InputError) or changes nothing.
 */
export async function applyReviewEdit(
  workflow: Workflow,
  threadId: string,
  point: ReviewPoint,
  { edit, reviewer }: ReviewEditRequest,
): Promise<boolean> {
  const { update, asNode, changed } = reviewEditUpdate(point, await valuesOf(workflow, threadId), edit, reviewer);
  if (!changed) return false;
  await workflow.updateState(threadConfig(threadId), update, asNode);
  return true;
}

export async function startRun(
  workflow: Workflow,
  store: ThreadStore,
  params: { taskQueue: Task[]; settings: Settings; threadId: string },
  options: DriveOptions = {},
): Promise<Outcome> {
  const { threadId } = params;
  return withThreadLock(store, threadId, async () => {
    // Checked under the lock: two runs naming one --thread cannot both start it.
    if ((await workflow.getState(threadConfig(threadId))).createdAt) {
      throw new InputError(
        `thread ${threadId} already exists: resume it with \`${shellCommand("orchestra", "resume", threadId)}\`, or pick a new --thread`,
      );
    }
    return drive(workflow, { taskQueue: params.taskQueue, settings: params.settings }, threadId, options);
  });
}

/**
 * Continues a thread from any process: with a decision or an edit when it waits for
 * review, or from its last checkpoint when the process running it died.
 */
export async function resumeRun(
  workflow: Workflow,
  store: ThreadStore,
  params: { threadId: string; decision?: ReviewDecisionInput; edit?: ReviewEditRequest },
  options: DriveOptions = {},
): Promise<Outcome> {
  const { threadId, decision, edit } = params;
  return withThreadLock(store, threadId, async () => {
    const snapshot = await existingSnapshot(workflow, threadId);
    options.observer?.restore(snapshot.values);
    const current = outcomeIn(threadId, snapshot);
    if (current.status === "interrupted") {
      if (edit) {
        if (!(await applyReviewEdit(workflow, threadId, current.review!.point, edit))) {
          throw new InputError(`the edit changes nothing at ${current.review!.point}: nothing written`);
        }
        return drive(workflow, null, threadId, options);
      }
      if (decision) return drive(workflow, new Command({ resume: decision }), threadId, options);
      if (!options.review) {
        throw new InputError(
          `thread ${threadId} is waiting for review at ${current.review!.point}: pass --approve, --reject, --feedback TEXT or --edit FILE`,
        );
      }
      return answerReviews(workflow, threadId, options);
    }
    if (current.status !== "running") {
      throw new InputError(`thread ${threadId} has already finished (${current.status}): nothing to resume`);
    }
    if (decision || edit) {
      throw new InputError(`thread ${threadId} is not waiting for review: resume it without a decision or edit`);
    }
    return drive(workflow, null, threadId, options);
  });
}

/**
 * Time travel: runs the thread on from an earlier checkpoint. It is forked first: a copy of
 * the checkpoint saved as its child, marked "fork" as LangGraph marks its own forks, and the
 * run goes on from the copy. The thread's head moves to the new branch; the checkpoint and its
 * pending writes stay exactly as they were. Streamed from the checkpoint itself, a Command's
 * update would be saved as a pending write on it, and every later replay from there would
 * inherit it. A review mode given here is written into the fork's settings.
 */
export async function replayRun(
  workflow: Workflow,
  store: ThreadStore,
  params: { threadId: string; checkpointId: string; review?: Settings["review"] },
  options: DriveOptions = {},
): Promise<Outcome> {
  const { threadId, checkpointId, review } = params;
  return withThreadLock(store, threadId, async () => {
    await existingSnapshot(workflow, threadId);
    const from = { configurable: { thread_id: threadId, checkpoint_id: checkpointId } };
    const target = await workflow.getState(from);
    if (!target.createdAt) {
      throw new InputError(
        `thread ${threadId} has no checkpoint ${checkpointId}: \`${shellCommand("orchestra", "history", threadId)}\` lists them`,
      );
    }
    options.observer?.restore(target.values);
    if (target.tasks.length === 0) {
      throw new InputError(
        `checkpoint ${checkpointId} is where the thread finished: nothing runs after it, pick an earlier one`,
      );
    }
    const settings = (target.values as Partial<WorkflowStateType>).settings;
    if (review && !settings) {
      throw new InputError(
        `checkpoint ${checkpointId} comes before task_analyzer set the thread's settings: --review needs a later checkpoint`,
      );
    }
    const input = review ? new Command({ update: { settings: { ...settings!, review } } }) : null;
    return drive(workflow, input, threadId, options, await forkAt(workflow, from));
  });
}

/** Saves a copy of a checkpoint, without its pending writes, as its child marked "fork". */
async function forkAt(workflow: Workflow, from: RunnableConfig): Promise<RunnableConfig> {
  const saver = workflow.checkpointer;
  if (!(saver instanceof BaseCheckpointSaver)) throw new Error("replay needs a workflow compiled with a checkpointer");
  const source = await saver.getTuple(from);
  if (!source) throw new Error(`checkpoint ${String(from.configurable?.checkpoint_id)} vanished while forking`);
  const step = (source.metadata?.step ?? -1) + 1;
  return saver.put(
    source.config,
    { ...copyCheckpoint(source.checkpoint), id: uuid6(step), ts: new Date().toISOString() },
    { source: "fork", step, parents: source.metadata?.parents ?? {} },
    {},
  );
}
