import { randomUUID } from "node:crypto";
import type { Task } from "../../state/parallel_workflow/input.js";
import { InputError } from "../../state/shared/errors.js";
import { taskQueueInput } from "../../state/shared/tasks.js";
import { checkedSources, readJsonFile, withCheckpointer } from "../commands/shared.js";
import type { RunOptions } from "../workflow_cli.js";

const DEMO_TASK =
  "Assess whether a mid-sized logistics company should build or buy a route-optimisation platform: " +
  "technical feasibility, market options, competitors, costs and risks.";

async function readTaskQueue(task: string | undefined, taskFile: string | undefined): Promise<Task[]> {
  if (task !== undefined && taskFile !== undefined) throw new InputError("give a TASK or --task-file, not both");
  const { parseWorkflowInput } = await import("../../state/parallel_workflow/input.js");
  if (taskFile === undefined) return parseWorkflowInput({ task: task ?? DEMO_TASK });
  const json = await readJsonFile(
    "--task-file",
    taskFile,
    'give a JSON list of tasks, e.g. [{"description": "Compare message brokers"}]',
  );
  try {
    return parseWorkflowInput(taskQueueInput(json));
  } catch (error) {
    if (error instanceof InputError) throw new InputError(`--task-file ${taskFile}: ${error.message}`);
    throw error;
  }
}

/** `orchestra run` of a research thread: the task or task file, the settings from the flags, the live view. */
export async function runResearch(task: string | undefined, options: RunOptions): Promise<number> {
  const taskQueue = await readTaskQueue(task, options.taskFile);
  const [{ ensureConfiguration, SETTINGS_KEYS }, { createChatModel }, { liveRun }, { startRun }] = await Promise.all([
    import("../../state/parallel_workflow/configuration.js"),
    import("../../models/index.js"),
    import("./live_run.js"),
    import("./runner.js"),
  ]);
  const settings = ensureConfiguration({
    configurable: {
      ...Object.fromEntries(SETTINGS_KEYS.map((key) => [key, options[key]])),
      ...(await checkedSources(options)),
    },
  });
  // Building the model now surfaces a missing key or a bad fault plan before anything is written.
  createChatModel(settings.model);
  const threadId = options.thread ?? randomUUID();
  return withCheckpointer((db) =>
    liveRun(db, options, { id: threadId, model: settings.model }, ({ workflow, drive }) =>
      startRun(workflow, db, { taskQueue, settings, threadId }, drive),
    ),
  );
}
