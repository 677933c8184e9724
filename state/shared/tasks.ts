/** The limits on a task queue every workflow that reads one enforces. */
export const MAX_TASK_CHARS = 20_000;
export const MAX_TASKS = 50;
