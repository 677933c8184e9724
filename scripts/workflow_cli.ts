import type { Option } from "commander";
import type { Checkpointer } from "../checkpoints/index.js";
import type { ThreadHead } from "../checkpoints/threads.js";
import type { HistoryEntry } from "./thread_state.js";

/**
 * What the generic commands (scripts/commands/) ask of a workflow's CLI, scripts/<workflow>/cli.ts.
 * scripts/workflow_clis.ts maps every registered workflow to one of these; the light part
 * (listing) is read by `orchestra threads` without loading the workflow's graph, and the thread
 * commands load on use.
 */

/** "running": unfinished and not paused, so being run right now or left by a crash; resume continues it. */
export type RunStatus = "interrupted" | "completed" | "rejected" | "failed" | "running";

/** A thread as `orchestra threads` lists it. */
export interface ThreadListing {
  /** The workflow's name, or what it ran under it (an engine thread: its definition's name). */
  workflow: string;
  /** The workflow's own status word. */
  status: string;
  /** What --status filters on. */
  runStatus: RunStatus;
  task: string;
  /** The review point (or approval step) the thread waits at, if it does. */
  reviewPoint: string | null;
}

/** A row of `orchestra threads`. */
export interface ThreadRow extends Omit<ThreadListing, "runStatus"> {
  threadId: string;
  createdAt: string;
  updatedAt: string;
}

export interface JsonOption {
  json?: boolean;
}

export interface ReviewerOption {
  reviewer?: string;
}

export type LiveRunOptions = JsonOption & ReviewerOption;

/** The options a workflow's CLI adds to a command, camel-cased by commander: each workflow reads its own. */
export type WorkflowFlags = { [flag: string]: unknown };

export interface ResumeOptions extends LiveRunOptions, WorkflowFlags {
  approve?: boolean;
  reject?: boolean;
  feedback?: string;
  edit?: string;
}

export interface ReplayOptions extends LiveRunOptions {
  checkpoint: string;
  review?: "always" | "never";
}

/** What `report` prints: the final report once there is one, else where the thread stands. */
export interface ThreadReport {
  status: string;
  reviewPoint: string | null;
  report: string | null;
}

/** The thread commands, on a database the generic command opened. Each resolves to the text `show` prints or the exit code. */
export interface WorkflowCommands {
  show(db: Checkpointer, threadId: string, options: JsonOption & { color: boolean }): Promise<string>;
  history(db: Checkpointer, threadId: string): Promise<HistoryEntry[]>;
  report(db: Checkpointer, threadId: string): Promise<ThreadReport>;
  resume(db: Checkpointer, threadId: string, options: ResumeOptions): Promise<number>;
  replay(db: Checkpointer, threadId: string, options: ReplayOptions): Promise<number>;
  /** `orchestra run` for this workflow, when it has its own (it opens the database once the input checks); else the registry's generic run. */
  run?(task: string | undefined, options: RunOptions): Promise<number>;
}

export interface WorkflowCli {
  /** The state channels `listThread` reads from the head checkpoint. */
  listedChannels: readonly string[];
  listThread(head: ThreadHead): ThreadListing;
  /** How `history` names the nodes a step ran or runs next, when it has more to say than each name once (a wave's branches counted). */
  historyNodes?(names: readonly string[]): string[];
  /** The options it adds to `orchestra run`, given to its own run (or, without one, to its graph as settings). */
  runOptions?(): Option[];
  /** The options it adds to `orchestra resume`, read by its resume. */
  resumeOptions?(): Option[];
  commands(): Promise<WorkflowCommands>;
}

/** The review point a pending interrupt asks at: the shared review steps' requests name it. */
export function reviewPointOf(interrupts: readonly unknown[]): string | null {
  const request = interrupts[0];
  return request !== null && typeof request === "object" && "point" in request && typeof request.point === "string"
    ? request.point
    : null;
}

const ENDED: readonly string[] = ["completed", "failed", "rejected"] satisfies RunStatus[];

/**
 * Where a thread of a workflow with the shared review steps stands: waiting at a review, ended
 * with its status, else running while tasks remain (a crash leaves them), failed when none do.
 */
export function reviewedRunStatus(status: unknown, waiting: boolean, pending: boolean): RunStatus {
  if (waiting) return "interrupted";
  if (typeof status === "string" && ENDED.includes(status)) return status as RunStatus;
  return pending ? "running" : "failed";
}

/** `orchestra run`'s options: the generic ones, and the workflows' own (WorkflowCli.runOptions). */
export interface RunOptions extends LiveRunOptions, WorkflowFlags {
  taskFile?: string;
  thread?: string;
  workflow?: string;
  model?: string;
}
