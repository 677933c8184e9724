/** The limits on a task queue every workflow that reads one enforces. */
export const MAX_TASK_CHARS = 20_000;
export const MAX_TASKS = 50;

/**
 * The input mapping of a workflow whose input holds a task queue: a bare list of tasks is that
 * queue, so a task file may be `[...]` or `{"taskQueue": [...]}` for every such workflow.
 */
export function taskQueueInput(input: unknown): unknown {
  return Array.isArray(input) ? { taskQueue: input } : input;
}
