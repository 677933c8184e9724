import { setMaxListeners } from "node:events";
import { MAX_CONCURRENCY } from "../../state/shared/settings.js";
import { DatabaseUnavailableError } from "../../state/shared/errors.js";
import type { Checkpointer } from "../../checkpoints/index.js";
import { summariseThread, type ThreadSummary } from "./inspect.js";
import { ListrProgress, PlainProgress, type ProgressView } from "./live_progress.js";
import { count } from "./progress.js";
import { promptReview } from "./review_prompt.js";
import type { DriveOptions, Outcome, RunObserver, Workflow } from "./runner.js";
import { compileWorkflow } from "../../graphs/parallel_workflow.js";
import { EXIT, makeOutput, printJson, reviewerName, terminal } from "../commands/shared.js";
import type { JsonOption, LiveRunOptions } from "../workflow_cli.js";
import { shellCommand } from "../shell_command.js";

/**
 * What `run`, `resume` and `replay` share on a research thread: the live view of a thread as it
 * moves, the review prompt in a terminal, Ctrl-C, and the closing lines. Loaded by their actions
 * only: it pulls in the workflow and the terminal UI.
 */

const interactive = (options: JsonOption) => terminal(options) && !!process.stdin.isTTY;

function resumeHint(threadId: string) {
  return `${shellCommand("orchestra", "resume", threadId)} --approve | --reject | --feedback "..." | --edit FILE`;
}

/** Where a finished run ended, in one line: quality, branches, revisions and time, and where its report is. */
function finishedLines(outcome: Outcome, summary: ThreadSummary, seconds: number): string[] {
  const succeeded = summary.branches.filter((b) => b.status === "success").length;
  const quality = summary.quality
    ? `, quality ${summary.quality.score.toFixed(3)} (threshold ${summary.quality.threshold})`
    : "";
  const figures = [
    `${succeeded} of ${count(summary.branches.length, "branch")} succeeded`,
    ...(summary.revision ? [count(summary.revision, "revision")] : []),
    `${seconds.toFixed(1)}s`,
  ];
  const lines = [
    `${outcome.status}: thread ${outcome.threadId}${quality}${outcome.failureReason ? ` (${outcome.failureReason})` : ""} · ${figures.join(" · ")}`,
  ];
  if (outcome.report) {
    lines.push(
      `  report: \`${shellCommand("orchestra", "report", outcome.threadId)}\` prints it, \`${shellCommand("orchestra", "report", outcome.threadId)} --out report.md\` saves it`,
    );
  }
  return lines;
}

async function report(outcome: Outcome, options: JsonOption, workflow: Workflow, startedAt: number) {
  const { line } = makeOutput(options);
  if (outcome.status === "interrupted") {
    line(`paused for review at ${outcome.review!.point}. Resume with:\n  ${resumeHint(outcome.threadId)}`);
  } else {
    const summary = await summariseThread(workflow, outcome.threadId);
    for (const text of finishedLines(outcome, summary, (Date.now() - startedAt) / 1000)) line(text);
  }
  if (options.json) {
    const { threadId, status, next, qualityScore, report } = outcome;
    printJson({ threadId, status, next, qualityScore, report, reviewPoint: outcome.review?.point ?? null });
  }
  return outcome.status === "completed" || outcome.status === "interrupted" ? EXIT.ok : EXIT.failed;
}

/** The first line of a run: which thread, and which model answers (the offline one is no real model). */
function announce(options: JsonOption, threadId: string, model: string | undefined) {
  const described =
    model === "offline" ? "offline (deterministic answers, no API calls)" : (model ?? "the thread's own");
  makeOutput(options).line(`thread ${threadId} · model ${described}`);
}

/**
 * Runs or resumes a thread with live progress: a listr2 view in a terminal, plain lines
 * otherwise. In a terminal each review point is asked there; Ctrl-C leaves the thread
 * paused (or, mid-step, at its last saved step) and says how to resume.
 */
export async function liveRun(
  db: Checkpointer,
  options: LiveRunOptions,
  thread: { id: string; model?: string },
  fn: (ctx: { workflow: Workflow; db: Checkpointer; drive: DriveOptions }) => Promise<Outcome>,
): Promise<number> {
  // LangChain adds an abort listener per task to a super-step's signal: a wave as wide as a
  // thread may ask for is not a leak, and should not print Node's leak warning.
  setMaxListeners(MAX_CONCURRENCY + 10);
  const threadId = thread.id;
  const startedAt = Date.now();
  const { line } = makeOutput(options);
  const stop = new AbortController();
  let cancelled = false;
  const onSigint = () => {
    cancelled = true;
    stop.abort(new Error("interrupted by Ctrl-C"));
  };
  process.on("SIGINT", onSigint);
  const view: ProgressView = terminal(options) ? new ListrProgress() : new PlainProgress(line);
  // Announced once the thread moves, so input refused before that prints nothing but its error. A
  // resume or a replay runs on the model the thread was saved with: known once its state is read.
  let model = thread.model;
  let announced = false;
  const begin = () => {
    if (!announced) announce(options, threadId, model);
    announced = true;
  };
  const observer: RunObserver = {
    taskStarted: (name, input) => {
      begin();
      return view.taskStarted(name, input);
    },
    nodeUpdated: (name, update) => {
      begin();
      view.nodeUpdated(name, update);
    },
    stepSaved: (step, next) => {
      begin();
      view.stepSaved(step, next);
    },
    restore: (values) => {
      model = values.settings?.model;
      view.restore(values);
    },
  };
  const workflow = compileWorkflow(db.checkpointer);
  try {
    const reviewer = reviewerName(options);
    const outcome = await fn({
      workflow,
      db,
      drive: {
        signal: stop.signal,
        observer,
        onEvent: (event) => view.event(event),
        ...(interactive(options)
          ? {
              review: async (request, state) => {
                begin();
                await view.pause("waiting for review");
                const answer = await promptReview(request, state, reviewer);
                if (!answer) cancelled = true;
                return answer;
              },
            }
          : {}),
      },
    });
    await view.pause();
    const code = await report(outcome, options, workflow, startedAt);
    return cancelled ? EXIT.interrupted : code;
  } catch (error) {
    if (cancelled) {
      await view.stop("stopped by Ctrl-C");
      line(
        `stopped. The thread keeps every finished step: resume it with \`${shellCommand("orchestra", "resume", threadId)}\``,
      );
      return EXIT.interrupted;
    }
    await view.pause();
    // Lost mid-run, the saved steps are safe: say how to pick the thread up again.
    if (error instanceof DatabaseUnavailableError) {
      throw new DatabaseUnavailableError(`${error.message}: \`${shellCommand("orchestra", "resume", threadId)}\``);
    }
    throw error;
  } finally {
    process.off("SIGINT", onSigint);
  }
}
