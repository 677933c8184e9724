import { randomUUID } from "node:crypto";
import type { Command } from "commander";
import type { Settings } from "../../state/configuration.js";
import type { Task } from "../../state/input.js";
import { InputError } from "../../state/shared/errors.js";
import { examples, JSON_OPTION, number, readJsonFile, reviewOption, subcommand } from "./shared.js";
import type { LiveRunOptions } from "./live_run.js";

const DEMO_TASK =
  "Assess whether a mid-sized logistics company should build or buy a route-optimisation platform: " +
  "technical feasibility, market options, competitors, costs and risks.";

/** Commander camel-cases each --flag into the setting's own key. */
export interface RunOptions extends LiveRunOptions, Partial<Settings> {
  taskFile?: string;
  thread?: string;
}

async function readTaskQueue(task: string | undefined, taskFile: string | undefined): Promise<Task[]> {
  if (task !== undefined && taskFile !== undefined) throw new InputError("give a TASK or --task-file, not both");
  const { parseWorkflowInput } = await import("../../state/input.js");
  if (taskFile === undefined) return parseWorkflowInput({ task: task ?? DEMO_TASK });
  const json = await readJsonFile("--task-file", taskFile, 'give a JSON list of tasks, e.g. [{"description": "Compare message brokers"}]');
  try {
    return parseWorkflowInput(Array.isArray(json) ? { taskQueue: json } : json);
  } catch (error) {
    if (error instanceof InputError) throw new InputError(`--task-file ${taskFile}: ${error.message}`);
    throw error;
  }
}

async function run(task: string | undefined, options: RunOptions): Promise<number> {
  const taskQueue = await readTaskQueue(task, options.taskFile);
  const [{ ensureConfiguration, SETTINGS_KEYS }, { createChatModel }, { liveRun }, { startRun }] = await Promise.all([
    import("../../state/configuration.js"),
    import("../../models/index.js"),
    import("./live_run.js"),
    import("../runner.js"),
  ]);
  const settings = ensureConfiguration({ configurable: Object.fromEntries(SETTINGS_KEYS.map((key) => [key, options[key]])) });
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
    .action(async (task: string | undefined, options: RunOptions) => {
      process.exitCode = await run(task, options);
    });
}
