import type { RunnableConfig } from "@langchain/core/runnables";
import type { StateSnapshot } from "@langchain/langgraph";

interface HasToDict {
  toDict(): { type: string; data: Record<string, unknown> };
}

const hasToDict = (value: unknown): value is HasToDict =>
  value !== null && typeof value === "object" && typeof (value as Partial<HasToDict>).toDict === "function";

/**
 * JSON for API responses and stream events, on one line. Messages become the SDK's plain dicts
 * (the form @langchain/langgraph-api's serialiser gives them), not LangChain's constructor form.
 */
export function toJson(value: unknown): string {
  return (
    JSON.stringify(value, function (this: Record<string, unknown>, key: string, converted: unknown) {
      const raw = this[key];
      if (hasToDict(raw)) {
        const { type, data } = raw.toDict();
        return { ...data, type };
      }
      if (typeof converted === "bigint") return converted.toString();
      return converted;
    }) ?? "null"
  );
}

/** An error as the SDK reads it in an `error` event or a run's __error__: its kind and one line. */
export function errorBody(error: unknown): { error: string; message: string } {
  if (error instanceof Error) return { error: error.name, message: firstLine(error.message) };
  return { error: "Error", message: firstLine(String(error)) };
}

export const firstLine = (text: string) => text.split("\n")[0]!.trim();

export function checkpointOf(config: RunnableConfig | undefined): Record<string, unknown> | null {
  const configurable = config?.configurable;
  if (!configurable?.checkpoint_id) return null;
  return {
    thread_id: configurable.thread_id,
    checkpoint_ns: configurable.checkpoint_ns ?? "",
    checkpoint_id: configurable.checkpoint_id,
    checkpoint_map: configurable.checkpoint_map ?? null,
  };
}

/** A state snapshot in the API's ThreadState form. */
export function threadState(state: StateSnapshot): Record<string, unknown> {
  return {
    values: state.values,
    next: state.next,
    tasks: state.tasks.map((task) => ({
      id: task.id,
      name: task.name,
      error: task.error != null ? errorBody(task.error).message : null,
      interrupts: task.interrupts,
      path: task.path,
      checkpoint: task.state != null && "configurable" in task.state ? (task.state.configurable ?? null) : null,
      state: task.state != null && "values" in task.state ? threadState(task.state) : null,
      result: task.result ?? null,
    })),
    metadata: state.metadata ?? null,
    created_at: state.createdAt ?? null,
    checkpoint: checkpointOf(state.config),
    parent_checkpoint: checkpointOf(state.parentConfig),
    interrupts: state.tasks.flatMap((task) => task.interrupts),
  };
}
