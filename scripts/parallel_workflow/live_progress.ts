import { Listr, type ListrTaskWrapper } from "listr2";
import {
  BRANCH_NODES,
  type BranchAllocation,
  type BranchInput,
  type TimelineEvent,
  type WorkflowStateType,
} from "../../state/parallel_workflow/workflow.js";
import { count, formatEvent, revisionReason } from "./progress.js";
import type { RunObserver } from "./runner.js";

/** What a run shows while it goes: fed by the runner's streams, paused for prompts. */
export interface ProgressView extends RunObserver {
  event(event: TimelineEvent): void;
  /** Ends live rendering, leaving what was drawn on screen; the view may start again after. */
  pause(why?: string): Promise<void>;
  /** Ends live rendering mid-step (Ctrl-C): what was still running shows as stopped, not done. */
  stop(why: string): Promise<void>;
}

type BranchState = "queued" | "running" | "done" | "failed" | "retrying" | "stopped";

interface BranchLine {
  branchId: string;
  node: string;
  state: BranchState;
  attempt: number;
  startedAt?: number;
  seconds?: number;
  quality?: number;
  error?: string;
}

const seconds = (from: number, to: number) => `${((to - from) / 1000).toFixed(1)}s`;
const isBranchNode = (name: string) => (BRANCH_NODES as readonly string[]).includes(name);

/** Each branch's state as the streams report it: the model both views render. */
export class BranchBoard {
  readonly branches = new Map<string, BranchLine>();

  plan(allocations: Record<string, BranchAllocation>) {
    for (const a of Object.values(allocations)) {
      const line = this.branches.get(a.branchId);
      if (!line)
        this.branches.set(a.branchId, {
          branchId: a.branchId,
          node: a.assignedNode ?? "",
          state: a.attempt > 1 ? "retrying" : "queued",
          attempt: a.attempt,
        });
      else if (a.attempt > line.attempt && line.state !== "running")
        Object.assign(line, { state: "retrying", attempt: a.attempt });
    }
  }

  started(node: string, input: BranchInput) {
    this.branches.set(input.branchId, {
      branchId: input.branchId,
      node,
      state: "running",
      attempt: input.allocation.attempt,
      startedAt: Date.now(),
    });
  }

  finished(update: Partial<WorkflowStateType>) {
    for (const result of Object.values(update.completedBranches ?? {})) {
      const line = this.branches.get(result.branchId);
      this.branches.set(result.branchId, {
        branchId: result.branchId,
        node: result.node,
        state: result.status === "success" ? "done" : "failed",
        attempt: result.attempt,
        ...(line?.startedAt ? { startedAt: line.startedAt } : {}),
        seconds: result.performance.executionTime,
        quality: result.performance.dataQualityScore,
        ...(result.error ? { error: result.error } : {}),
      });
    }
  }

  restore(values: Partial<WorkflowStateType>) {
    this.plan(values.activeBranches ?? {});
    const current = Object.values(values.completedBranches ?? {}).filter(
      (r) => values.activeBranches?.[r.branchId]?.attempt === r.attempt,
    );
    this.finished({ completedBranches: Object.fromEntries(current.map((r) => [r.branchId, r])) });
  }

  /** Cut off by a Ctrl-C: its work is lost, and a resume runs it again. */
  stopped(branchId: string) {
    const line = this.branches.get(branchId)!;
    line.state = "stopped";
    if (line.startedAt) line.seconds = (Date.now() - line.startedAt) / 1000;
  }

  count(state: BranchState) {
    return [...this.branches.values()].filter((b) => b.state === state).length;
  }

  summary() {
    const parts = (["running", "done", "failed", "stopped", "retrying", "queued"] as const)
      .map((s) => [s, this.count(s)] as const)
      .filter(([, n]) => n > 0)
      .map(([s, n]) => `${n} ${s}`);
    return parts.join(", ");
  }

  line(b: BranchLine) {
    const seconds = b.state === "running" && b.startedAt ? (Date.now() - b.startedAt) / 1000 : b.seconds;
    const figures = [
      seconds === undefined ? "" : `${seconds.toFixed(1)}s`,
      b.quality === undefined || b.state !== "done" ? "" : `quality ${b.quality.toFixed(3)}`,
      b.attempt > 1 ? `attempt ${b.attempt}` : "",
      b.error ? b.error : "",
    ].filter(Boolean);
    return `${b.branchId.padEnd(30)} ${b.node.padEnd(26)} ${b.state.padEnd(9)} ${figures.join("  ")}`.trimEnd();
  }
}

/** One plain line per event and per saved super-step: no escape codes, for logs and pipes. */
export class PlainProgress implements ProgressView {
  private readonly board = new BranchBoard();
  private readonly startedAt = Date.now();

  constructor(private readonly write: (line: string) => void) {}

  taskStarted(name: string, input: unknown) {
    if (isBranchNode(name)) this.board.started(name, input as BranchInput);
  }

  nodeUpdated(name: string, update: Partial<WorkflowStateType>) {
    if (update.activeBranches) this.board.plan(update.activeBranches);
    if (isBranchNode(name)) this.board.finished(update);
  }

  stepSaved(step: number, next: string[]) {
    // Step -1 is the saved input: nothing has run yet.
    if (step < 0) return;
    this.write(stepLine(step, seconds(this.startedAt, Date.now()), this.board.summary(), next));
  }

  event(event: TimelineEvent) {
    this.write(formatEvent(event));
  }

  restore(values: Partial<WorkflowStateType>) {
    this.board.restore(values);
  }

  async pause() {}

  async stop() {}
}

function stepLine(step: number, at: string, branches: string, next: string[]) {
  return `  · step ${step} saved at ${at}${branches ? `: ${branches}` : ""}; next ${describeNext(next)}`;
}

function describeNext(next: string[]) {
  if (next.length === 0) return "nothing (the run is over or paused)";
  const counts = new Map<string, number>();
  for (const n of next) counts.set(n, (counts.get(n) ?? 0) + 1);
  return [...counts].map(([n, k]) => (k > 1 ? `${n} ×${k}` : n)).join(", ");
}

const PHASES = {
  task_analyzer: "Analysis",
  parallel_coordinator: "Fan-out",
  load_balancer: "Fan-out",
  sync_point_manager: "Sync",
  branch_merger: "Merge",
  quality_validator: "Validation",
  final_integrator: "Integration",
} as Record<string, string>;
const phaseOf = (node: string) => PHASES[node] ?? (isBranchNode(node) ? "Fan-out" : node);

interface ActivePhase {
  name: string;
  task?: ListrTaskWrapper<unknown, any, any>;
  detail: string;
  branchIds: Set<string>;
  /** Why this phase runs again: a revision's feedback, a failed branch's recovery. Kept as the title moves on. */
  reasons: string[];
  step?: string;
  /** The phase's clock: its title's time and its steps' "saved at" both count from here. */
  startedAt: number;
  savedAt?: number;
  endedAt?: number;
  /** Cut off mid-step: its time runs to the cut, not to its last saved step. */
  stopped?: boolean;
  /** Ends the phase's task: done, or, given a reason, failed with it. */
  end: (failure?: string) => void;
  rendered: Promise<unknown>;
}

/**
 * The terminal view: a listr2 task per phase visit (Analysis, Fan-out, Sync, Merge,
 * Validation, Integration; loops revisit them), a live line per branch of the fan-out
 * with its state and elapsed time, and the latest super-step's summary under each phase.
 * A finished phase's time is when its last step was saved, on the clock its step lines use.
 */
export class ListrProgress implements ProgressView {
  private readonly board = new BranchBoard();
  private phase: ActivePhase | undefined;
  private ticker: NodeJS.Timeout | undefined;

  async taskStarted(name: string, input: unknown) {
    await this.enter(phaseOf(name));
    if (isBranchNode(name)) {
      this.board.started(name, input as BranchInput);
      this.phase!.branchIds.add((input as BranchInput).branchId);
    }
    this.refresh();
  }

  nodeUpdated(name: string, update: Partial<WorkflowStateType>) {
    if (update.activeBranches) this.board.plan(update.activeBranches);
    if (isBranchNode(name)) this.board.finished(update);
    this.refresh();
  }

  stepSaved(step: number, next: string[]) {
    if (step < 0 || !this.phase) return;
    this.phase.savedAt = Date.now();
    this.phase.step = stepLine(
      step,
      seconds(this.phase.startedAt, this.phase.savedAt),
      this.board.summary(),
      next,
    ).trim();
    this.refresh();
  }

  event(event: TimelineEvent) {
    if (!this.phase) return;
    const detail = phaseDetail(event);
    if (detail) this.phase.detail = detail;
    const reason = phaseReason(event);
    if (reason) this.phase.reasons.push(reason);
    this.refresh();
  }

  restore(values: Partial<WorkflowStateType>) {
    this.board.restore(values);
  }

  async pause(why?: string) {
    await this.end(why);
  }

  async stop(why: string) {
    for (const b of this.board.branches.values()) if (b.state === "running") this.board.stopped(b.branchId);
    await this.end(why, true);
  }

  private async end(why: string | undefined, failed = false) {
    const phase = this.phase;
    if (!phase) return;
    if (why) phase.detail = phase.detail ? `${phase.detail}; ${why}` : why;
    phase.endedAt = Date.now();
    phase.stopped = failed;
    this.refresh();
    this.phase = undefined;
    clearInterval(this.ticker);
    phase.end(failed ? this.title(phase) : undefined);
    await phase.rendered;
  }

  private async enter(name: string) {
    if (this.phase?.name === name) return;
    await this.pause();
    let end!: (failure?: string) => void;
    const finished = new Promise<void>(
      (resolve, reject) => (end = (failure) => (failure ? reject(new Error(failure)) : resolve())),
    );
    const phase: ActivePhase = {
      name,
      detail: "",
      branchIds: new Set(),
      reasons: [],
      startedAt: Date.now(),
      end,
      rendered: Promise.resolve(),
    };
    const listr = new Listr(
      [
        {
          title: name,
          task: async (_ctx, task) => {
            phase.task = task;
            // A quick phase may be over before listr starts its task: draw this phase, not the current one.
            this.refresh(phase);
            await finished;
          },
          rendererOptions: { persistentOutput: true, outputBar: true },
        },
      ],
      {
        registerSignalListeners: false,
        rendererOptions: { formatOutput: "truncate" },
      },
    );
    // A stopped phase fails its task: listr draws it as not done, and the rejection is expected.
    phase.rendered = listr.run().catch(() => undefined);
    this.phase = phase;
    // Elapsed times of running branches move even when no event arrives.
    this.ticker = setInterval(() => this.refresh(), 250);
    this.ticker.unref();
  }

  private title(phase: ActivePhase) {
    const end =
      phase.endedAt === undefined ? Date.now() : phase.stopped ? phase.endedAt : (phase.savedAt ?? phase.endedAt);
    return `${phase.detail ? `${phase.name}: ${phase.detail}` : phase.name} [${seconds(phase.startedAt, end)}]`;
  }

  private refresh(phase = this.phase) {
    if (!phase?.task) return;
    phase.task.title = this.title(phase);
    const lines = [
      ...phase.reasons,
      ...[...phase.branchIds].map((id) => this.board.line(this.board.branches.get(id)!)),
    ];
    const waiting = this.board.count("queued") + this.board.count("retrying");
    if (phase.branchIds.size && waiting) lines.push(`${waiting} more waiting for a later wave`);
    if (phase.step) lines.push(phase.step);
    const output = lines.join("\n");
    if (output && phase.task.output !== output) phase.task.output = output;
  }
}

/** Why a phase runs branches again: shown above them while the phase lasts. */
function phaseReason(e: TimelineEvent): string | undefined {
  switch (e.event) {
    case "branch_requeued":
      return `${e.branchId} failed (${e.reason}): retry ${e.retry}, ${e.strategy} → ${e.toNode}`;
    case "revision_requested":
      return `revision ${e.revision}: re-queues ${e.branches.join(", ")}${revisionReason(e)}`;
    default:
      return undefined;
  }
}

/** A phase title's detail, from the events that end or advance it. */
function phaseDetail(e: TimelineEvent): string | undefined {
  switch (e.event) {
    case "task_analysis_completed":
      return `${e.workflowMode} mode, ${count(e.branchesPlanned, "branch")} planned, ${e.branchesAllocated} at a time`;
    case "wave_dispatched":
      return `wave ${e.wave}, ${count(e.branches.length, "branch")}`;
    case "synchronization_checkpoint":
      return `${Math.round(e.progress * 100)}% of branches succeeded → ${e.action}`;
    case "review_decision":
      return `review: ${e.action} by ${e.reviewer}`;
    case "intelligent_merge_completed":
      return `merged ${count(e.successfulBranches, "branch")}, quality ${e.overallQuality.toFixed(3)}`;
    case "quality_validated":
      return `score ${e.score.toFixed(3)} → ${e.route}: ${e.reason}`;
    case "workflow_completed":
      return `report written, quality ${Number(e.qualityScore).toFixed(3)}`;
    default:
      return undefined;
  }
}
