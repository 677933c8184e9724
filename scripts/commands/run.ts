import { randomUUID } from "node:crypto";
import { resolve } from "node:path";
import type { Command } from "commander";
import type { Settings } from "../../state/parallel_workflow/configuration.js";
import type { Task } from "../../state/parallel_workflow/input.js";
import { DEFAULT_WORKFLOW } from "../../graphs/default_workflow.js";
import { InputError } from "../../state/shared/errors.js";
import { examples, EXIT, JSON_OPTION, makeOutput, number, printJson, readJsonFile, reviewOption, subcommand, withCheckpointer } from "./shared.js";
import type { LiveRunOptions } from "./live_run.js";
import type { StateSnapshot } from "@langchain/langgraph";
import type { ServableGraph, WorkflowSummary } from "../../state/shared/workflow_definition.js";

const DEMO_TASK =
  "Assess whether a mid-sized logistics company should build or buy a route-optimisation platform: " +
  "technical feasibility, market options, competitors, costs and risks.";

/** Commander camel-cases each --flag into the setting's own key. */
export interface RunOptions extends LiveRunOptions, Partial<Settings> {
  taskFile?: string;
  thread?: string;
  workflow?: string;
}


async function readTaskQueue(task: string | undefined, taskFile: string | undefined): Promise<Task[]> {
  if (task !== undefined && taskFile !== undefined) throw new InputError("give a TASK or --task-file, not both");
  const { parseWorkflowInput } = await import("../../state/parallel_workflow/input.js");
  if (taskFile === undefined) return parseWorkflowInput({ task: task ?? DEMO_TASK });
  const json = await readJsonFile("--task-file", taskFile, 'give a JSON list of tasks, e.g. [{"description": "Compare message brokers"}]');
  try {
    return parseWorkflowInput(Array.isArray(json) ? { taskQueue: json } : json);
  } catch (error) {
    if (error instanceof InputError) throw new InputError(`--task-file ${taskFile}: ${error.message}`);
    throw error;
  }
}

/** The run flags a registered workflow's definition may read as settings; it ignores those it has none of. */
const REGISTERED_SETTING_FLAGS = ["model", "review", "qualityThreshold", "maxConcurrency", "branchTimeoutMs"] as const;

const SOURCE_FLAGS = ["corpus", "mcp", "webSearch", "toolBudget", "toolTimeoutMs", "toolLoopTimeoutMs"] as const;

/**
 * The source flags given, as settings: paths made absolute, since they are saved with the thread
 * and a resume may run from another folder; checked before anything is written, so a missing
 * corpus or a broken MCP file is one line and exit 2 rather than a branch that fails.
 */
async function checkedSources(options: RunOptions): Promise<Record<string, unknown>> {
  const given = Object.fromEntries(SOURCE_FLAGS.filter((key) => options[key] !== undefined).map((key) => [key, options[key]]));
  for (const key of ["corpus", "mcp"] as const) if (options[key] !== undefined) given[key] = resolve(options[key]);
  const { SourcesSettingsSchema, hasSources } = await import("../../state/shared/sources.js");
  const parsed = SourcesSettingsSchema.safeParse(given);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new InputError(`invalid configuration: ${issue.path.join(".")}: ${issue.message}`);
  }
  if (hasSources(parsed.data)) (await import("../../nodes/shared/sources/sources.js")).validateSources(parsed.data);
  return given;
}

/**
 * Runs a workflow other than the research one on a new thread under the thread lock: its input
 * is the --task-file's JSON, checked by its definition before anything is written. A line per
 * step as it is saved; at a review point it pauses and says how to resume.
 */
async function runRegisteredWorkflow(name: string, options: RunOptions): Promise<number> {
  const [{ workflowDefinition }, { withThreadLock }] = await Promise.all([import("../../graphs/registry.js"), import("../../checkpoints/thread_lock.js")]);
  const definition = workflowDefinition(name);
  if (!options.taskFile) throw new InputError(`--workflow ${name} reads its input from --task-file: give a JSON file`);
  const input = await readJsonFile("--task-file", options.taskFile, `give the ${name} workflow's input as JSON`);
  const flags = Object.fromEntries(REGISTERED_SETTING_FLAGS.flatMap((key) => (options[key] === undefined ? [] : [[key, options[key]]])));
  const config = { configurable: { ...flags, ...(await checkedSources(options)) } };
  try {
    definition.checkRequest(input, config);
  } catch (error) {
    if (error instanceof InputError) throw new InputError(`--task-file ${options.taskFile}: ${error.message}`);
    throw error;
  }
  const threadId = options.thread ?? randomUUID();
  const { line } = makeOutput(options);
  return withCheckpointer(async (db) => {
    const workflow = definition.compile(db.checkpointer);
    const thread = { configurable: { ...config.configurable, thread_id: threadId } };
    const { summary, review } = await withThreadLock(db, threadId, async () => {
      if ((await workflow.getState(thread)).createdAt) throw new InputError(`thread ${threadId} already exists: pick a new --thread`);
      line(`thread ${threadId} · workflow ${name}`);
      await streamRegisteredSteps(workflow, input, thread, line);
      const snapshot = await workflow.getState(thread);
      return { summary: definition.summarise(snapshot.values), review: pendingReviewPoint(snapshot) };
    });
    return closeRegisteredRun(options, { threadId, workflow: name, summary, review });
  });
}

/** Streams a registered workflow's run (a new input, or a review's resume) with a line per node update. */
export async function streamRegisteredSteps(workflow: ServableGraph, input: unknown, thread: { configurable: Record<string, unknown> }, line: (text: string) => void) {
  for await (const chunk of await workflow.stream(input, { ...thread, streamMode: "updates" })) {
    for (const node of Object.keys(chunk as Record<string, unknown>)) if (node !== "__interrupt__") line(`  ${node} ✓`);
  }
}

/** The review point a thread waits at, if it does. */
export function pendingReviewPoint(snapshot: StateSnapshot): string | null {
  const request = snapshot.tasks.flatMap((task) => task.interrupts).map((i) => i.value as { point?: unknown })[0];
  return typeof request?.point === "string" ? request.point : null;
}

/** The closing lines of a registered workflow's run or resume, and its exit code: a pause for review is no failure. */
export function closeRegisteredRun(
  options: RunOptions,
  outcome: { threadId: string; workflow: string; summary: WorkflowSummary; review: string | null },
): number {
  const { threadId, workflow, summary, review } = outcome;
  const { line } = makeOutput(options);
  if (review) line(`paused for review at ${review}. Resume with:\n  orchestra resume ${threadId} --approve | --reject | --feedback "..."`);
  else {
    const quality = summary.qualityScore === null ? "" : `, quality ${summary.qualityScore.toFixed(3)}`;
    line(`${summary.status}: thread ${threadId} · workflow ${workflow}${quality}${summary.failureReason ? ` (${summary.failureReason})` : ""}`);
  }
  if (options.json) printJson({ threadId, workflow, ...summary, status: review ? "interrupted" : summary.status, reviewPoint: review });
  return review || ["completed", "COMPLETED"].includes(summary.status) ? EXIT.ok : EXIT.failed;
}

async function run(task: string | undefined, options: RunOptions): Promise<number> {
  if (options.workflow !== undefined && options.workflow !== DEFAULT_WORKFLOW) return runRegisteredWorkflow(options.workflow, options);
  const taskQueue = await readTaskQueue(task, options.taskFile);
  const [{ ensureConfiguration, SETTINGS_KEYS }, { createChatModel }, { liveRun }, { startRun }] = await Promise.all([
    import("../../state/parallel_workflow/configuration.js"),
    import("../../models/index.js"),
    import("./live_run.js"),
    import("../runner.js"),
  ]);
  const settings = ensureConfiguration({
    configurable: { ...Object.fromEntries(SETTINGS_KEYS.map((key) => [key, options[key]])), ...(await checkedSources(options)) },
  });
  // Building the model now surfaces a missing key or a bad fault plan before anything is written.
  createChatModel(settings.model);
  const threadId = options.thread ?? randomUUID();
  return liveRun(options, { id: threadId, model: settings.model }, ({ workflow, db, drive }) =>
    startRun(workflow, db, { taskQueue, settings, threadId }, drive),
  );
}

export function register(program: Command): void {
  subcommand(program, "run")
    .description("Run the workflow on a new thread (the built-in demo task when none is given).")
    .argument("[task]", "the task, as text")
    .option("--task-file <file>", "a JSON task queue: [{description, type?, domain?, complexity?, deadline?}, ...]")
    .option("--thread <id>", "the thread id (default: a new UUID)")
    .option("--workflow <name>", `the workflow to run ('orchestra workflows' lists them; default ${DEFAULT_WORKFLOW}); another workflow reads its input from --task-file`)
    .addOption(reviewOption("pause for human review (default: always)"))
    .option("--model <spec>", "'offline' or 'openai:<model>' (default: ORCHESTRA_MODEL, else openai if OPENAI_API_KEY is set, else offline)")
    .option("--reviewer <name>", "the name recorded with review decisions (default: your OS user)")
    .option("--quality-threshold <x>", "lowest quality score the validator approves (0.8)", number("--quality-threshold"))
    .option("--max-retries <n>", "retries per failed branch (2)", number("--max-retries"))
    .option("--max-revisions <n>", "revision rounds (2)", number("--max-revisions"))
    .option("--max-concurrency <n>", "most branches at once (5)", number("--max-concurrency"))
    .option("--branch-timeout-ms <ms>", "per-branch timeout (120000)", number("--branch-timeout-ms"))
    .option("--corpus <dir>", "a folder of .md, .txt and .html files the branches search and cite")
    .option("--mcp <file>", "a JSON file of MCP servers ({\"mcpServers\": {...}}) whose tools the branches may call")
    .option("--web-search", "offer Tavily web search to the branches (needs TAVILY_API_KEY; off by default)")
    .option("--tool-budget <n>", "most tool calls per branch (6)", number("--tool-budget"))
    .option("--tool-timeout-ms <ms>", "time one tool call may take (20000)", number("--tool-timeout-ms"))
    .option("--tool-loop-timeout-ms <ms>", "time a branch may spend calling tools (60000)", number("--tool-loop-timeout-ms"))
    .option(...JSON_OPTION)
    .addHelpText(
      "after",
      examples(
        "orchestra run",
        'orchestra run "Compare vector databases for a 10M-document search service"',
        "orchestra run --task-file tasks.json --review never --json",
        "orchestra run --thread q3-pricing --reviewer alice",
        'orchestra run --corpus docs/ --mcp mcp.json "Which team owns project Orchid?"',
      ) + "\n\nThe --json result: {threadId, status, next, qualityScore, report, reviewPoint}.",
    )
    .action(async (task: string | undefined, options: RunOptions) => {
      process.exitCode = await run(task, options);
    });
}
