import { z } from "zod";
import { InputError } from "../shared/errors.js";
import { MAX_TASK_CHARS, MAX_TASKS } from "../shared/tasks.js";

const description = z
  .string({
    error: (issue) =>
      issue.input === undefined ? 'is missing: give each task a "description", the text of the task' : undefined,
  })
  .trim()
  .min(1, "must not be empty")
  .max(MAX_TASK_CHARS, `must be at most ${MAX_TASK_CHARS} characters`);

/** A task as the task queue carries it. */
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

/**
 * The graph's input: one task as text, or a queue of tasks. The CLI also passes the
 * run's settings here (validated by task_analyzer), so they are checkpointed with the
 * input. Declared as the graph's input schema, it rejects bad input before LangGraph
 * writes the first checkpoint. "Exactly one of task and taskQueue" is checked in
 * parseWorkflowInput: LangGraph extends this schema, and zod cannot extend refinements.
 */
export const WorkflowInputSchema = z
  .object({
    task: description.optional(),
    taskQueue: z.array(TaskSchema).min(1, "must hold at least one task").max(MAX_TASKS).optional(),
    settings: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();

export type WorkflowInput = z.input<typeof WorkflowInputSchema>;

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
  const parsed = WorkflowInputSchema.safeParse(raw);
  if (!parsed.success) throw new InputError(`invalid input: ${describe(parsed.error)}`);
  if ((parsed.data.task === undefined) === (parsed.data.taskQueue === undefined)) {
    throw new InputError("invalid input: give exactly one of 'task' or 'taskQueue'");
  }
  return parsed.data.taskQueue ?? [{ description: parsed.data.task! }];
}
