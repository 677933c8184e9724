import { randomUUID } from "node:crypto";
import { readFile } from "node:fs/promises";
import os from "node:os";
import { Command, CommanderError, Option } from "commander";
import { DatabaseUnavailableError, openCheckpointer, type Checkpointer } from "../checkpoints/index.js";
import { compileWorkflow } from "../graphs/parallel_workflow.js";
import { createChatModel } from "../models/index.js";
import { ensureConfiguration, SETTINGS_KEYS, type Settings } from "../state/configuration.js";
import { InputError, parseWorkflowInput, type Task } from "../state/input.js";
import { parseReviewDecision, type ReviewDecisionInput, type ReviewRequest } from "../state/review.js";
import { formatEvent } from "./progress.js";
import { promptReview } from "./review_prompt.js";
import { resumeRun, startRun, type Outcome } from "./runner.js";

export const DEMO_TASK =
  "Assess whether a mid-sized logistics company should build or buy a route-optimisation platform: " +
  "technical feasibility, market options, competitors, costs and risks.";

const EXIT = { ok: 0, failed: 1, usage: 2, interrupted: 130 } as const;

interface CommonOptions {
  json?: boolean;
  reviewer?: string;
  debug?: boolean;
}

/** Progress goes to stderr under --json, so stdout carries only the result. */
function makeOutput(options: CommonOptions) {
  const out = options.json ? process.stderr : process.stdout;
  return { line: (text: string) => out.write(text + "\n") };
}

const interactive = (options: CommonOptions) => !options.json && process.stdin.isTTY && process.stdout.isTTY;

function resumeHint(threadId: string) {
  return `npm run orchestra -- resume ${threadId} --approve | --reject | --feedback "..."`;
}

function reviewerName(options: CommonOptions): string {
  if (options.reviewer) return options.reviewer;
  try {
    return os.userInfo().username;
  } catch {
    return "anonymous";
  }
}

async function readTaskQueue(task: string | undefined, taskFile: string | undefined): Promise<Task[]> {
  if (task !== undefined && taskFile !== undefined) throw new InputError("give a TASK or --task-file, not both");
  if (taskFile === undefined) return parseWorkflowInput({ task: task ?? DEMO_TASK });
  let text: string;
  try {
    text = await readFile(taskFile, "utf8");
  } catch (error) {
    throw new InputError(`cannot read --task-file ${taskFile}: ${(error as NodeJS.ErrnoException).code ?? error}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new InputError(`--task-file ${taskFile} is not valid JSON: ${(error as Error).message}`);
  }
  return parseWorkflowInput(Array.isArray(json) ? { taskQueue: json } : json);
}

function report(outcome: Outcome, options: CommonOptions) {
  const { line } = makeOutput(options);
  if (outcome.status === "interrupted") {
    line(`paused for review at ${outcome.review!.point}. Resume with:\n  ${resumeHint(outcome.threadId)}`);
  } else {
    if (outcome.report && !options.json) line("\n" + outcome.report);
    const quality = outcome.qualityScore === null ? "" : `, quality ${outcome.qualityScore.toFixed(3)}`;
    line(`${outcome.status}: thread ${outcome.threadId}${quality}${outcome.failureReason ? ` (${outcome.failureReason})` : ""}`);
  }
  if (options.json) {
    const { threadId, status, next, qualityScore, report } = outcome;
    process.stdout.write(JSON.stringify({ threadId, status, next, qualityScore, report }) + "\n");
  }
  return outcome.status === "completed" || outcome.status === "interrupted" ? EXIT.ok : EXIT.failed;
}

/** Opens the checkpointer, runs fn with Ctrl-C wired to stop the run cleanly, and closes. */
async function withWorkflow(
  options: CommonOptions,
  threadId: string,
  fn: (ctx: {
    workflow: ReturnType<typeof compileWorkflow>;
    pool: Checkpointer["pool"];
    signal: AbortSignal;
    review?: (r: ReviewRequest) => Promise<ReviewDecisionInput | undefined>;
    onEvent: (e: Parameters<typeof formatEvent>[0]) => void;
  }) => Promise<Outcome>,
): Promise<number> {
  const { line } = makeOutput(options);
  const stop = new AbortController();
  let cancelled = false;
  const onSigint = () => {
    cancelled = true;
    stop.abort(new Error("interrupted by Ctrl-C"));
  };
  process.on("SIGINT", onSigint);
  let db: Checkpointer | undefined;
  try {
    db = await openCheckpointer({ onProgress: (message: string) => process.stderr.write(message + "\n") });
    const workflow = compileWorkflow(db.checkpointer);
    const reviewer = reviewerName(options);
    const outcome = await fn({
      workflow,
      pool: db.pool,
      signal: stop.signal,
      onEvent: (event) => line(formatEvent(event)),
      ...(interactive(options)
        ? {
            review: async (request) => {
              const decision = await promptReview(request, reviewer);
              if (!decision) cancelled = true;
              return decision;
            },
          }
        : {}),
    });
    const code = report(outcome, options);
    return cancelled ? EXIT.interrupted : code;
  } catch (error) {
    if (cancelled) {
      line(`stopped. The thread keeps every finished step: resume it with 'npm run orchestra -- resume ${threadId}'`);
      return EXIT.interrupted;
    }
    throw error;
  } finally {
    process.off("SIGINT", onSigint);
    await db?.close();
  }
}

/** Commander camel-cases each --flag into the setting's own key. */
function settingsFrom(options: Record<string, unknown>): Settings {
  return ensureConfiguration({ configurable: Object.fromEntries(SETTINGS_KEYS.map((key) => [key, options[key]])) });
}

const number = (flag: string) => (value: string) => {
  const n = Number(value);
  if (!Number.isFinite(n)) throw new InputError(`${flag} must be a number, got '${value}'`);
  return n;
};

export function buildProgram() {
  const program = new Command("orchestra")
    .description("Run and resume parallel multi-agent workflows, durably on Postgres.")
    .option("--debug", "print stack traces for unexpected errors")
    .showHelpAfterError("(add --help for usage)")
    .exitOverride();

  program
    .command("run")
    .description("Run the workflow on a new thread (the built-in demo task when none is given).")
    .argument("[task]", "the task, as text")
    .option("--task-file <file>", "a JSON task queue: [{description, type?, domain?, complexity?, deadline?}, ...]")
    .option("--thread <id>", "the thread id (default: a new UUID)")
    .addOption(new Option("--review <mode>", "pause for human review").choices(["always", "never"]))
    .option("--model <spec>", "'offline' or 'openai:<model>' (default: ORCHESTRA_MODEL, else openai if OPENAI_API_KEY is set, else offline)")
    .option("--reviewer <name>", "the name recorded with review decisions (default: your OS user)")
    .option("--quality-threshold <x>", "lowest quality score the validator approves (0.8)", number("--quality-threshold"))
    .option("--max-retries <n>", "retries per failed branch (2)", number("--max-retries"))
    .option("--max-revisions <n>", "revision rounds (2)", number("--max-revisions"))
    .option("--max-concurrency <n>", "most branches at once (5)", number("--max-concurrency"))
    .option("--branch-timeout-ms <ms>", "per-branch timeout (120000)", number("--branch-timeout-ms"))
    .option("--json", "print one JSON object {threadId, status, next, qualityScore, report} as the last stdout line")
    .addHelpText(
      "after",
      `
Examples:
  $ orchestra run
  $ orchestra run "Compare vector databases for a 10M-document search service"
  $ orchestra run --task-file tasks.json --review never --json
  $ orchestra run --thread q3-pricing --reviewer alice

Exit codes: 0 completed or paused for review, 1 failed or rejected, 2 usage or input error.`,
    )
    .action(async (task: string | undefined, options: Record<string, any>) => {
      const taskQueue = await readTaskQueue(task, options.taskFile);
      const settings = settingsFrom(options);
      // Building the model now surfaces a missing key or a bad fault plan before anything is written.
      createChatModel(settings.model);
      const threadId: string = options.thread ?? randomUUID();
      process.exitCode = await withWorkflow(options, threadId, ({ workflow, pool, ...drive }) =>
        startRun(workflow, pool, { taskQueue, settings, threadId }, drive),
      );
    });

  program
    .command("resume")
    .description("Continue a thread from any process: answer its review, or pick up after a crash.")
    .argument("<thread>", "the thread id")
    .option("--approve", "approve at the review point")
    .option("--reject", "reject: the run ends with status rejected")
    .option("--feedback <text>", "send feedback: the validator routes to a revision")
    .option("--reviewer <name>", "the name recorded with the decision (default: your OS user)")
    .option("--json", "print one JSON object {threadId, status, next, qualityScore, report} as the last stdout line")
    .addHelpText(
      "after",
      `
Examples:
  $ orchestra resume 3f2c... --approve
  $ orchestra resume 3f2c... --feedback "Cover pricing in more depth"
  $ orchestra resume 3f2c...            # in a terminal: asks; after a crash: continues`,
    )
    .action(async (threadId: string, options: Record<string, any>) => {
      const chosen = [options.approve && "approve", options.reject && "reject", options.feedback !== undefined && "feedback"].filter(Boolean);
      if (chosen.length > 1) throw new InputError("give at most one of --approve, --reject, --feedback");
      const decision = chosen.length
        ? parseReviewDecision({
            action: chosen[0],
            reviewer: reviewerName(options),
            ...(options.feedback !== undefined ? { feedback: options.feedback } : {}),
          })
        : undefined;
      process.exitCode = await withWorkflow(options, threadId, ({ workflow, pool, ...drive }) =>
        resumeRun(workflow, pool, { threadId, ...(decision ? { decision } : {}) }, drive),
      );
    });

  program
    .command("graph")
    .description("Print the workflow's diagram as Mermaid (the README's diagram is this output).")
    .addHelpText("after", `\nExamples:\n  $ orchestra graph > workflow.mmd`)
    .action(async () => {
      const { graph } = await import("../graphs/parallel_workflow.js");
      process.stdout.write((await graph.getGraphAsync()).drawMermaid() + "\n");
    });

  return program;
}

export async function main(argv = process.argv) {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version exit 0; every other parse error is a usage error.
      process.exitCode = error.exitCode === 0 ? EXIT.ok : EXIT.usage;
      return;
    }
    if (error instanceof InputError) {
      process.stderr.write(`orchestra: ${error.message}\n`);
      process.exitCode = EXIT.usage;
      return;
    }
    const debug = program.opts().debug || process.argv.includes("--debug");
    process.stderr.write(`orchestra: ${error instanceof Error ? error.message : String(error)}\n`);
    if (debug && error instanceof Error) process.stderr.write(`${error.stack}\n`);
    // An unreachable database is fully explained by its one line; anything else may need the stack.
    else if (!(error instanceof DatabaseUnavailableError)) process.stderr.write("(run with --debug for details)\n");
    process.exitCode = EXIT.failed;
  }
}
