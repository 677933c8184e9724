import { randomUUID } from "node:crypto";
import { setMaxListeners } from "node:events";
import { readFile, writeFile } from "node:fs/promises";
import os from "node:os";
import { Command, CommanderError, Option } from "commander";
import { openCheckpointer, type Checkpointer } from "../checkpoints/index.js";
import { DatabaseUnavailableError, InputError, messageOf } from "../state/shared/errors.js";
import { DEFAULT_WORKFLOW, WORKFLOWS, workflowDefinition } from "../graphs/registry.js";
import type { WorkflowDefinition } from "../state/shared/workflow_definition.js";
import { createChatModel } from "../models/index.js";
import { ensureConfiguration, SETTINGS_KEYS, type Settings } from "../state/parallel_workflow/configuration.js";
import { MAX_CONCURRENCY } from "../state/shared/settings.js";
import { parseWorkflowInput, type Task } from "../state/parallel_workflow/input.js";
import { parseReviewDecision } from "../state/parallel_workflow/review.js";
import { listThreads, summarizeThread, threadHistory, type ThreadSummary } from "./inspect.js";
import { ListrProgress, PlainProgress, type ProgressView } from "./live_progress.js";
import { count } from "./progress.js";
import { drawAscii, renderHistory, renderSummary, renderThreads } from "./render.js";
import { promptReview } from "./review_prompt.js";
import { replayRun, resumeRun, startRun, type DriveOptions, type Outcome, type RunObserver, type RunStatus, type Workflow } from "./runner.js";
import { withThreadLock } from "../checkpoints/thread_lock.js";

export const DEMO_TASK =
  "Assess whether a mid-sized logistics company should build or buy a route-optimisation platform: " +
  "technical feasibility, market options, competitors, costs and risks.";

const EXIT = { ok: 0, failed: 1, usage: 2, interrupted: 130 } as const;
const STATUSES: RunStatus[] = ["interrupted", "completed", "failed", "rejected", "running"];

interface CommonOptions {
  json?: boolean;
  reviewer?: string;
}

/** Under --json, stdout carries only the result: progress and notes go to stderr. */
function makeOutput(options: CommonOptions) {
  const out = options.json ? process.stderr : process.stdout;
  return { line: (text: string) => out.write(text + "\n") };
}

const printJson = (value: unknown) => process.stdout.write(JSON.stringify(value) + "\n");
const terminal = (options: CommonOptions) => !options.json && !!process.stdout.isTTY;
const interactive = (options: CommonOptions) => terminal(options) && !!process.stdin.isTTY;

function resumeHint(threadId: string) {
  return `orchestra resume ${threadId} --approve | --reject | --feedback "..." | --edit FILE`;
}

function reviewerName(options: CommonOptions): string {
  if (options.reviewer) return options.reviewer;
  try {
    return os.userInfo().username;
  } catch {
    return "anonymous";
  }
}

/** Why a file cannot be read, in words, with what to do about it. */
const FILE_PROBLEMS: Record<string, string> = {
  ENOENT: "does not exist: check the path",
  EACCES: "cannot be read (permission denied): check its permissions",
  EISDIR: "is a directory: give a JSON file",
};

async function readJsonFile(flag: string, file: string, example: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? "";
    throw new InputError(`${flag} ${file} ${FILE_PROBLEMS[code] ?? `cannot be read (${code || error}): check the path`}`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new InputError(`${flag} ${file} is not valid JSON (${(error as Error).message}): ${example}`);
  }
}

async function readTaskQueue(task: string | undefined, taskFile: string | undefined): Promise<Task[]> {
  if (task !== undefined && taskFile !== undefined) throw new InputError("give a TASK or --task-file, not both");
  if (taskFile === undefined) return parseWorkflowInput({ task: task ?? DEMO_TASK });
  const json = await readJsonFile("--task-file", taskFile, 'give a JSON list of tasks, e.g. [{"description": "Compare message brokers"}]');
  try {
    return parseWorkflowInput(Array.isArray(json) ? { taskQueue: json } : json);
  } catch (error) {
    if (error instanceof InputError) throw new InputError(`--task-file ${taskFile}: ${error.message}`);
    throw error;
  }
}

/** Where a finished run ended, in one line: quality, branches, revisions and time, and where its report is. */
function finishedLines(outcome: Outcome, summary: ThreadSummary, seconds: number): string[] {
  const succeeded = summary.branches.filter((b) => b.status === "success").length;
  const quality = summary.quality ? `, quality ${summary.quality.score.toFixed(3)} (threshold ${summary.quality.threshold})` : "";
  const figures = [
    `${succeeded} of ${count(summary.branches.length, "branch")} succeeded`,
    ...(summary.revision ? [count(summary.revision, "revision")] : []),
    `${seconds.toFixed(1)}s`,
  ];
  const lines = [`${outcome.status}: thread ${outcome.threadId}${quality}${outcome.failureReason ? ` (${outcome.failureReason})` : ""} · ${figures.join(" · ")}`];
  if (outcome.report) {
    lines.push(`  report: 'orchestra report ${outcome.threadId}' prints it, 'orchestra report ${outcome.threadId} --out report.md' saves it`);
  }
  return lines;
}

async function report(outcome: Outcome, options: CommonOptions, workflow: Workflow, startedAt: number) {
  const { line } = makeOutput(options);
  if (outcome.status === "interrupted") {
    line(`paused for review at ${outcome.review!.point}. Resume with:\n  ${resumeHint(outcome.threadId)}`);
  } else {
    const summary = await summarizeThread(workflow, outcome.threadId);
    for (const text of finishedLines(outcome, summary, (Date.now() - startedAt) / 1000)) line(text);
  }
  if (options.json) {
    const { threadId, status, next, qualityScore, report } = outcome;
    printJson({ threadId, status, next, qualityScore, report, reviewPoint: outcome.review?.point ?? null });
  }
  return outcome.status === "completed" || outcome.status === "interrupted" ? EXIT.ok : EXIT.failed;
}

/** The first line of a run: which thread, and which model answers (the offline one is no real model). */
function announce(options: CommonOptions, threadId: string, model: string | undefined) {
  const described = model === "offline" ? "offline (deterministic answers, no API calls)" : (model ?? "the thread's own");
  makeOutput(options).line(`thread ${threadId} · model ${described}`);
}

/**
 * Runs a workflow other than the research one to its end, on a new thread under the thread
 * lock: its input is the --task-file's JSON, checked by its definition before anything is written.
 */
async function runRegisteredWorkflow(name: string, options: CommonOptions & { taskFile?: string; thread?: string; model?: string }): Promise<number> {
  const definition = workflowDefinition(name);
  if (!options.taskFile) throw new InputError(`--workflow ${name} reads its input from --task-file: give a JSON file`);
  let input: unknown;
  try {
    input = JSON.parse(await readFile(options.taskFile, "utf8"));
  } catch (error) {
    throw new InputError(`cannot read ${options.taskFile} as JSON: ${messageOf(error)}`);
  }
  const config = { configurable: { ...(options.model ? { model: options.model } : {}) } };
  definition.checkRequest(input, config);
  const threadId = options.thread ?? randomUUID();
  return withDatabase(async ({ db }) => {
    const workflow = definition.compile(db.checkpointer);
    const thread = { configurable: { ...config.configurable, thread_id: threadId } };
    const summary = await withThreadLock(db, threadId, async () => {
      if ((await workflow.getState(thread)).createdAt) throw new InputError(`thread ${threadId} already exists: pick a new --thread`);
      for await (const _ of await workflow.stream(input, { ...thread, streamMode: "updates" }));
      return definition.summarise((await workflow.getState(thread)).values);
    });
    const { line } = makeOutput(options);
    line(`thread ${threadId} · workflow ${name} · ${summary.status}`);
    if (options.json) printJson({ threadId, workflow: name, ...summary });
    return ["completed", "COMPLETED"].includes(summary.status) ? EXIT.ok : EXIT.failed;
  });
}

async function withDatabase<T>(
  fn: (ctx: { workflow: Workflow; db: Checkpointer }) => Promise<T>,
  options: { migrate?: boolean } = {},
): Promise<T> {
  const db = await openCheckpointer({ ...options, onProgress: (message: string) => process.stderr.write(message + "\n") });
  try {
    return await fn({ workflow: WORKFLOWS.parallel_workflow.compile(db.checkpointer), db });
  } finally {
    await db.close();
  }
}

/**
 * Runs or resumes a thread with live progress: a listr2 view in a terminal, plain lines
 * otherwise. In a terminal each review point is asked there; Ctrl-C leaves the thread
 * paused (or, mid-step, at its last saved step) and says how to resume.
 */
async function liveRun(
  options: CommonOptions,
  thread: { id: string; model?: string },
  fn: (ctx: { workflow: Workflow; db: Checkpointer; drive: DriveOptions }) => Promise<Outcome>,
): Promise<number> {
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
  let running = false;
  try {
    return await withDatabase(async ({ workflow, db }) => {
      running = true;
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
    });
  } catch (error) {
    if (cancelled) {
      await view.stop("stopped by Ctrl-C");
      line(`stopped. The thread keeps every finished step: resume it with 'orchestra resume ${threadId}'`);
      return EXIT.interrupted;
    }
    await view.pause();
    // Lost mid-run, the saved steps are safe: say how to pick the thread up again.
    if (running && error instanceof DatabaseUnavailableError) {
      throw new DatabaseUnavailableError(`${error.message}: 'orchestra resume ${threadId}'`);
    }
    throw error;
  } finally {
    process.off("SIGINT", onSigint);
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

const JSON_OPTION = ["--json", "print the result as JSON on stdout (progress and notes go to stderr)"] as const;
const reviewOption = (description: string) => new Option("--review <mode>", description).choices(["always", "never"]);
const examples = (...lines: string[]) => `\nExamples:\n${lines.map((l) => `  $ ${l}`).join("\n")}`;

export function buildProgram() {
  const program = new Command("orchestra")
    .description("Run, review, resume and inspect parallel multi-agent workflows, durably on Postgres.")
    .option("--debug", "print stack traces for unexpected errors")
    .exitOverride()
    .addHelpText(
      "after",
      `${examples("orchestra run \"Compare vector databases\"", "orchestra threads --status interrupted", "orchestra resume <thread> --approve", "orchestra show <thread>")}

Exit codes: 0 completed or paused for review, 1 failed or rejected, 2 usage or input error, 130 Ctrl-C.
Without DATABASE_URL, checkpoints live in an embedded Postgres in .data/postgres.`,
    );
  // Subcommands inherit exit handling.
  const command = (name: string) => program.command(name).exitOverride();

  command("run")
    .description("Run the workflow on a new thread (the built-in demo task when none is given).")
    .argument("[task]", "the task, as text")
    .option("--task-file <file>", "a JSON task queue: [{description, type?, domain?, complexity?, deadline?}, ...]")
    .option("--thread <id>", "the thread id (default: a new UUID)")
    .addOption(reviewOption("pause for human review (default: always)"))
    .option("--model <spec>", "'offline' or 'openai:<model>' (default: ORCHESTRA_MODEL, else openai if OPENAI_API_KEY is set, else offline)")
    .option("--reviewer <name>", "the name recorded with review decisions (default: your OS user)")
    .option("--quality-threshold <x>", "lowest quality score the validator approves (0.8)", number("--quality-threshold"))
    .option("--max-retries <n>", "retries per failed branch (2)", number("--max-retries"))
    .option("--max-revisions <n>", "revision rounds (2)", number("--max-revisions"))
    .option("--max-concurrency <n>", "most branches at once (5)", number("--max-concurrency"))
    .option("--branch-timeout-ms <ms>", "per-branch timeout (120000)", number("--branch-timeout-ms"))
    .option(...JSON_OPTION)
    .addHelpText(
      "after",
      examples(
        "orchestra run",
        'orchestra run "Compare vector databases for a 10M-document search service"',
        "orchestra run --task-file tasks.json --review never --json",
        "orchestra run --thread q3-pricing --reviewer alice",
      ) + "\n\nThe --json result: {threadId, status, next, qualityScore, report, reviewPoint}.",
    )
    .option("--workflow <name>", `the workflow to run ('orchestra workflows' lists them; default ${DEFAULT_WORKFLOW}); another workflow reads its input from --task-file`)
    .action(async (task: string | undefined, options: Record<string, any>) => {
      const workflowName: string = options.workflow ?? DEFAULT_WORKFLOW;
      if (workflowName !== DEFAULT_WORKFLOW) {
        process.exitCode = await runRegisteredWorkflow(workflowName, options);
        return;
      }
      const taskQueue = await readTaskQueue(task, options.taskFile);
      const settings = settingsFrom(options);
      // Building the model now surfaces a missing key or a bad fault plan before anything is written.
      createChatModel(settings.model);
      const threadId: string = options.thread ?? randomUUID();
      process.exitCode = await liveRun(options, { id: threadId, model: settings.model }, ({ workflow, db, drive }) =>
        startRun(workflow, db, { taskQueue, settings, threadId }, drive),
      );
    });

  command("resume")
    .description("Continue a thread from any process: answer its review, or pick up after a crash.")
    .argument("<thread>", "the thread id")
    .option("--approve", "approve at the review point")
    .option("--reject", "reject: the run ends with status rejected")
    .option("--feedback <text>", "send feedback: a revision round addresses it")
    .option("--edit <file>", "replace the reviewable part of the state with this JSON file, then review again")
    .option("--reviewer <name>", "the name recorded with the decision (default: your OS user)")
    .option(...JSON_OPTION)
    .addHelpText(
      "after",
      examples(
        "orchestra resume 3f2c... --approve",
        'orchestra resume 3f2c... --feedback "Cover pricing in more depth"',
        "orchestra show 3f2c... --json | jq .reviewable > edit.json   # then edit it",
        "orchestra resume 3f2c... --edit edit.json",
        "orchestra resume 3f2c...            # in a terminal: asks; after a crash: continues",
      ),
    )
    .action(async (threadId: string, options: Record<string, any>) => {
      const chosen = [
        options.approve && "approve",
        options.reject && "reject",
        options.feedback !== undefined && "feedback",
        options.edit !== undefined && "edit",
      ].filter(Boolean);
      if (chosen.length > 1) throw new InputError("give at most one of --approve, --reject, --feedback, --edit");
      const edit =
        options.edit !== undefined ? { edit: await readJsonFile("--edit", options.edit, `start from 'orchestra show ${threadId} --json | jq .reviewable'`), reviewer: reviewerName(options) } : undefined;
      const decision =
        chosen.length && chosen[0] !== "edit"
          ? parseReviewDecision({
              action: chosen[0],
              reviewer: reviewerName(options),
              ...(options.feedback !== undefined ? { feedback: options.feedback } : {}),
            })
          : undefined;
      process.exitCode = await liveRun(options, { id: threadId }, ({ workflow, db, drive }) =>
        resumeRun(workflow, db, { threadId, ...(decision ? { decision } : {}), ...(edit ? { edit } : {}) }, drive),
      );
    });

  command("replay")
    .description("Time travel: fork a thread at an earlier checkpoint and run on from there. Its history stays intact.")
    .argument("<thread>", "the thread id")
    .requiredOption("--checkpoint <id>", "the checkpoint to fork at ('orchestra history THREAD' lists them)")
    .addOption(reviewOption("the review mode from the fork on (default: the thread's own)"))
    .option("--reviewer <name>", "the name recorded with review decisions (default: your OS user)")
    .option(...JSON_OPTION)
    .addHelpText(
      "after",
      examples(
        "orchestra history 3f2c...",
        "orchestra replay 3f2c... --checkpoint 1f0c6a7e-... --review never",
      ),
    )
    .action(async (threadId: string, options: Record<string, any>) => {
      process.exitCode = await liveRun(options, { id: threadId }, ({ workflow, db, drive }) =>
        replayRun(workflow, db, { threadId, checkpointId: options.checkpoint, ...(options.review ? { review: options.review } : {}) }, drive),
      );
    });

  command("threads")
    .description("List threads from the checkpointer, newest first.")
    .addOption(new Option("--status <status>", "only threads with this status").choices(STATUSES))
    .option("--limit <n>", "at most this many threads", (value) => {
      const n = Number(value);
      if (!Number.isInteger(n) || n < 1) throw new InputError(`--limit must be a positive integer, got '${value}'`);
      return n;
    }, 20)
    .option(...JSON_OPTION)
    .addHelpText("after", examples("orchestra threads", "orchestra threads --status interrupted --limit 5", "orchestra threads --json | jq '.[].threadId'"))
    .action(async (options: { status?: RunStatus; limit: number; json?: boolean }) => {
      const rows = await withDatabase(({ workflow, db }) =>
        listThreads(workflow, db.pool, db.schema, { limit: options.limit, ...(options.status ? { status: options.status } : {}) }),
      );
      if (options.json) printJson(rows);
      else process.stdout.write(renderThreads(rows) + "\n");
    });

  command("show")
    .description("Summarise a thread: mode, branches, sync progress, quality, reviews, timeline and report.")
    .argument("<thread>", "the thread id")
    .option(...JSON_OPTION)
    .addHelpText("after", examples("orchestra show 3f2c...", "orchestra show 3f2c... --json | jq .quality"))
    .action(async (threadId: string, options: CommonOptions) => {
      const summary = await withDatabase(({ workflow }) => summarizeThread(workflow, threadId));
      if (options.json) printJson(summary);
      else process.stdout.write(renderSummary(summary, terminal(options)) + "\n");
    });

  command("history")
    .description("List a thread's checkpoints: step, id, time, the nodes and branches that wrote each, and what runs next.")
    .argument("<thread>", "the thread id")
    .option(...JSON_OPTION)
    .addHelpText("after", examples("orchestra history 3f2c...", "orchestra replay 3f2c... --checkpoint <id from the list>"))
    .action(async (threadId: string, options: CommonOptions) => {
      const entries = await withDatabase(({ workflow }) => threadHistory(workflow, threadId));
      if (options.json) printJson(entries);
      else process.stdout.write(renderHistory(entries) + "\n");
    });

  command("report")
    .description("Print a finished thread's final report as markdown, or write it to a file.")
    .argument("<thread>", "the thread id")
    .option("--out <file>", "write the report to this file")
    .option(...JSON_OPTION)
    .addHelpText("after", examples("orchestra report 3f2c...", "orchestra report 3f2c... --out report.md"))
    .action(async (threadId: string, options: CommonOptions & { out?: string }) => {
      const summary = await withDatabase(({ workflow }) => summarizeThread(workflow, threadId));
      if (!summary.report) {
        throw new InputError(`thread ${threadId} has no final report: it is ${summary.status}${summary.reviewPoint ? ` at ${summary.reviewPoint}` : ""}`);
      }
      if (options.out) {
        try {
          await writeFile(options.out, summary.report);
        } catch (error) {
          throw new InputError(`cannot write --out ${options.out}: ${(error as NodeJS.ErrnoException).code ?? error}`);
        }
      }
      if (options.json) printJson({ threadId, report: summary.report, file: options.out ?? null });
      else if (options.out) process.stdout.write(`wrote ${options.out}\n`);
      else process.stdout.write(summary.report + "\n");
    });

  command("workflows")
    .description("List the workflows this installation runs and serves.")
    .option(...JSON_OPTION)
    .addHelpText("after", examples("orchestra workflows", "orchestra workflows --json"))
    .action((options: CommonOptions) => {
      const rows = Object.values(WORKFLOWS).map((d: WorkflowDefinition) => ({
        name: d.name,
        description: d.description,
        default: d.name === DEFAULT_WORKFLOW,
        reviewPoints: [...d.reviewPoints],
        served: d.serve !== undefined,
      }));
      if (options.json) printJson(rows);
      else for (const row of rows) process.stdout.write(`${row.name}${row.default ? " (default)" : ""}  ${row.description}\n`);
    });

  command("graph")
    .description("Print the workflow's diagram (the README's diagram is this output).")
    .addOption(new Option("--format <format>", "diagram format").choices(["mermaid", "ascii"]).default("mermaid"))
    .option(...JSON_OPTION)
    .addHelpText("after", examples("orchestra graph > workflow.mmd", "orchestra graph --format ascii"))
    .action(async (options: { format: "mermaid" | "ascii"; json?: boolean }) => {
      const { graph } = await import("../graphs/parallel_workflow.js");
      const drawing = await graph.getGraphAsync();
      if (options.json) {
        printJson({
          nodes: Object.keys(drawing.nodes),
          edges: drawing.edges.map(({ source, target, conditional }) => ({ source, target, conditional: !!conditional })),
        });
      } else {
        process.stdout.write((options.format === "ascii" ? drawAscii(drawing) : drawing.drawMermaid()) + "\n");
      }
    });

  const db = command("db")
    .description("Where the checkpoints live, and their tables.")
    .addHelpText("after", examples("orchestra db status", "orchestra db migrate"));
  db.command("status")
    .description("Show where the checkpointer lives (password masked), whether its tables are set up, and what they hold.")
    .option(...JSON_OPTION)
    .addHelpText("after", examples("orchestra db status", "DATABASE_URL=postgres://... orchestra db status --json"))
    .action(async (options: CommonOptions) => {
      const status = await withDatabase(({ db }) => databaseStatus(db), { migrate: false });
      if (options.json) printJson(status);
      else {
        process.stdout.write(
          [
            `location:    ${status.location}`,
            `schema:      ${status.schema}`,
            `tables:      ${status.migrations === null ? "not set up: run 'orchestra db migrate'" : `set up (${status.migrations} migrations applied)`}`,
            ...(status.migrations === null ? [] : [`threads:     ${status.threads}`, `checkpoints: ${status.checkpoints}`, `size:        ${status.bytes} bytes`]),
          ].join("\n") + "\n",
        );
      }
    });
  db.command("migrate")
    .description("Create or migrate the checkpoint tables (LangGraph's PostgresSaver.setup()); safe to repeat.")
    .option(...JSON_OPTION)
    .addHelpText("after", examples("orchestra db migrate"))
    .action(async (options: CommonOptions) => {
      const status = await withDatabase(({ db }) => databaseStatus(db));
      if (options.json) printJson(status);
      else process.stdout.write(`checkpoint tables ready in schema ${status.schema} at ${status.location} (${status.migrations} migrations applied)\n`);
    });

  oneLineErrors(program);
  return program;
}

/** "orchestra db status": what a user types to reach this command. */
const commandPath = (command: Command): string => (command.parent ? `${commandPath(command.parent)} ${command.name()}` : command.name());

/**
 * Commander's own errors (an unknown option, a missing argument) as one line naming the
 * problem and where the usage is, like every other error.
 */
function oneLineErrors(command: Command) {
  command.configureOutput({
    outputError: (message, write) => {
      const problem = message.replace(/^error: /, "").replace(/\s*\n\s*/g, " ").trim().replace(/\.$/, "");
      write(`orchestra: ${problem}: see '${commandPath(command)} --help'\n`);
    },
  });
  for (const sub of command.commands) oneLineErrors(sub);
}

/**
 * Commander answers `orchestra frobnicate --help` (and `orchestra help frobnicate`) with
 * the top-level help. An unknown command is an error whatever comes with it: drop the
 * help flags, so commander reports the command as unknown.
 */
function withoutHelpForUnknownCommand(program: Command, argv: string[]): string[] {
  const args = argv.slice(2);
  let command = program;
  for (const [i, arg] of args.entries()) {
    if (arg.startsWith("-") || (arg === "help" && command === program)) continue;
    if (command.commands.length === 0) return argv;
    const sub = command.commands.find((c) => c.name() === arg || c.aliases().includes(arg));
    if (!sub) return [...argv.slice(0, 2), ...args.slice(0, i + 1).filter((a) => a !== "help"), ...args.slice(i + 1)].filter((a) => a !== "--help" && a !== "-h");
    command = sub;
  }
  return argv;
}

async function databaseStatus(db: Checkpointer) {
  const base = { location: db.location, schema: db.schema };
  const exists = await db.pool.query("SELECT to_regclass($1) AS t", [`"${db.schema}".checkpoint_migrations`]);
  if (!exists.rows[0].t) return { ...base, migrations: null, threads: 0, checkpoints: 0, bytes: 0 };
  const { rows } = await db.pool.query(
    `SELECT (SELECT count(*) FROM "${db.schema}".checkpoint_migrations)::int AS migrations,
            (SELECT count(DISTINCT thread_id) FROM "${db.schema}".checkpoints)::int AS threads,
            (SELECT count(*) FROM "${db.schema}".checkpoints)::int AS checkpoints,
            (SELECT sum(pg_total_relation_size(format('%I.%I', $1::text, t)))::bigint
               FROM unnest(ARRAY['checkpoints', 'checkpoint_blobs', 'checkpoint_writes']) AS t) AS bytes`,
    [db.schema],
  );
  return { ...base, ...rows[0], bytes: Number(rows[0].bytes) };
}

export async function main(argv = process.argv) {
  // LangChain adds an abort listener per task to a super-step's signal: a wave as wide as a
  // thread may ask for is not a leak, and should not print Node's leak warning.
  setMaxListeners(MAX_CONCURRENCY + 10);
  // A reader that stops early (`orchestra graph | head`) closes the pipe: that is no error.
  process.stdout.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code !== "EPIPE") throw error;
    process.exit(process.exitCode ?? EXIT.ok);
  });
  const program = buildProgram();
  try {
    await program.parseAsync(withoutHelpForUnknownCommand(program, argv));
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
    const message = error instanceof Error ? error.message : String(error);
    // LangChain appends a troubleshooting link to model errors: one line, unless asked for more.
    // An unreachable database is fully explained by its one line; anything else may need the stack.
    const hint = debug || error instanceof DatabaseUnavailableError ? "" : " (run with --debug for details)";
    process.stderr.write(`orchestra: ${debug ? message : message.split("\n")[0]}${hint}\n`);
    if (debug && error instanceof Error) process.stderr.write(`${error.stack}\n`);
    process.exitCode = EXIT.failed;
  }
}
