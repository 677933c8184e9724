import { z } from "zod";

/** A mistake in what the user asked for: the CLI prints it as one line and exits 2. */
export class InputError extends Error {
  override name = "InputError";
}

export const MAX_TASK_CHARS = 20_000;
export const MAX_TASKS = 50;

const description = z
  .string()
  .trim()
  .min(1, "must not be empty")
  .max(MAX_TASK_CHARS, `must be at most ${MAX_TASK_CHARS} characters`);

/** A task as the documents' task queue carries it. */
export const TaskSchema = z
  .object({
    description,
    type: z.string().trim().min(1).max(200).optional(),
    domain: z.string().trim().min(1).max(200).optional(),
    complexity: z.number().min(0).max(1).optional(),
    deadline: z.union([z.iso.datetime({ offset: true }), z.iso.date()]).optional(),
  })
  .strict();

export type Task = z.infer<typeof TaskSchema>;

const SingleTaskInput = z.object({ task: description }).strict();
const TaskQueueInput = z
  .object({ taskQueue: z.array(TaskSchema).min(1, "must hold at least one task").max(MAX_TASKS) })
  .strict();

/** The graph's input: one task as text, or a queue of tasks. */
export type WorkflowInput = z.input<typeof SingleTaskInput> | z.input<typeof TaskQueueInput>;

function describe(error: z.ZodError): string {
  return error.issues
    .map((issue) => {
      const path = issue.path.length ? issue.path.join(".") : "input";
      return `${path}: ${issue.message}`;
    })
    .join("; ");
}

/** Validates raw input and returns the task queue it describes. Throws InputError naming the field. */
export function parseWorkflowInput(raw: unknown): Task[] {
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    throw new InputError("invalid input: expected { task: string } or { taskQueue: Task[] }");
  }
  const hasTask = "task" in raw && (raw as { task?: unknown }).task !== undefined;
  const hasQueue = "taskQueue" in raw && (raw as { taskQueue?: unknown }).taskQueue !== undefined;
  if (hasTask === hasQueue) {
    throw new InputError("invalid input: give exactly one of 'task' or 'taskQueue'");
  }
  if (hasTask) {
    const parsed = SingleTaskInput.safeParse(raw);
    if (!parsed.success) throw new InputError(`invalid input: ${describe(parsed.error)}`);
    return [{ description: parsed.data.task }];
  }
  const parsed = TaskQueueInput.safeParse(raw);
  if (!parsed.success) throw new InputError(`invalid input: ${describe(parsed.error)}`);
  return parsed.data.taskQueue;
}
