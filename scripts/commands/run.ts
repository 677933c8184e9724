import { randomUUID } from "node:crypto";
import type { Command } from "commander";
import { DEFAULT_WORKFLOW } from "../../graphs/default_workflow.js";
import { InputError } from "../../state/shared/errors.js";
import { workflowClis } from "../workflow_clis.js";
import type { RunOptions, WorkflowCli } from "../workflow_cli.js";
import {
  addWorkflowOptions,
  checkedSources,
  examples,
  JSON_OPTION,
  makeOutput,
  readJsonFile,
  subcommand,
  THREAD_OPTION,
  withCheckpointer,
} from "./shared.js";

const CLIS = await workflowClis();

/** The run flags a workflow's graph reads as settings: --model, and the options its CLI declares; a flag it does not declare is not its setting. */
function settingFlags(cli: WorkflowCli, options: RunOptions): Record<string, unknown> {
  const keys = ["model", ...(cli.runOptions?.() ?? []).map((option) => option.attributeName())];
  return Object.fromEntries(keys.flatMap((key) => (options[key] === undefined ? [] : [[key, options[key]]])));
}

/**
 * Runs a workflow other than the research one on a new thread under the thread lock: its input
 * is the --task-file's JSON, checked by its definition before anything is written. A line per
 * step as it is saved; at a review point it pauses and says how to resume.
 */
async function runRegisteredWorkflow(name: string, cli: WorkflowCli, options: RunOptions): Promise<number> {
  const [
    { loadWorkflow, mapWorkflowInput, workflowName },
    { withThreadLock },
    { closeRegisteredRun, pendingReviewPoint, streamRegisteredSteps },
  ] = await Promise.all([
    import("../../graphs/registry.js"),
    import("../../checkpoints/thread_lock.js"),
    import("../registered_run.js"),
  ]);
  const definition = await loadWorkflow(name);
  if (!options.taskFile) throw new InputError(`--workflow ${name} reads its input from --task-file: give a JSON file`);
  const json = await readJsonFile("--task-file", options.taskFile, `give the ${name} workflow's input as JSON`);
  const input = mapWorkflowInput(workflowName(name), json);
  const flags = settingFlags(cli, options);
  const config = { configurable: { ...flags, ...(await checkedSources(flags)) } };
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
      if ((await workflow.getState(thread)).createdAt)
        throw new InputError(`thread ${threadId} already exists: pick a new --thread`);
      line(`thread ${threadId} · workflow ${name}`);
      await streamRegisteredSteps(workflow, input, thread, line);
      const snapshot = await workflow.getState(thread);
      return { summary: definition.summarise(snapshot.values), review: pendingReviewPoint(snapshot) };
    });
    return closeRegisteredRun(options, { threadId, workflow: name, summary, review });
  });
}

async function run(task: string | undefined, options: RunOptions): Promise<number> {
  const name = options.workflow ?? DEFAULT_WORKFLOW;
  const { workflowName } = await import("../../graphs/registry.js");
  const cli = CLIS.get(workflowName(name))!;
  const commands = await cli.commands();
  if (commands.run) return commands.run(task, options);
  return runRegisteredWorkflow(name, cli, options);
}

export function register(program: Command): void {
  const command = subcommand(program, "run")
    .description("Run the workflow on a new thread (the built-in demo task when none is given).")
    .argument("[task]", "the task, as text")
    .option("--task-file <file>", "a JSON task queue: [{description, type?, domain?, complexity?, deadline?}, ...]")
    .option(...THREAD_OPTION)
    .option(
      "--workflow <name>",
      `the workflow to run ('orchestra workflows' lists them; default ${DEFAULT_WORKFLOW}); another workflow reads its input from --task-file`,
    )
    .option(
      "--model <spec>",
      "'offline' or 'openai:<model>' (default: ORCHESTRA_MODEL, else openai if OPENAI_API_KEY is set, else offline)",
    )
    .option("--reviewer <name>", "the name recorded with review decisions (default: your OS user)");
  // Each workflow's own settings, as its CLI declares them (WorkflowCli.runOptions).
  addWorkflowOptions(
    command,
    [...CLIS.values()].flatMap((cli) => cli.runOptions?.() ?? []),
  );
  command
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
