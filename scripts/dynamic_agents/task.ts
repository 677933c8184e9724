/** The task queue's descriptions, as one line. */
export function taskOf(taskQueue: unknown): string {
  const queue = Array.isArray(taskQueue) ? taskQueue : [];
  return queue
    .map((task: unknown) =>
      task !== null && typeof task === "object" && "description" in task ? String(task.description) : "",
    )
    .join("; ");
}
