import type { BaseCheckpointSaver, CheckpointMetadata } from "@langchain/langgraph";

/**
 * The checkpoint metadata key a thread's workflow is recorded under: `graph_id`, as LangGraph's
 * own API server records the graph of a run. Readers go through graphs/registry.ts's
 * `workflowOfThread`, which falls back to the nodes reached for threads saved before it was written.
 */
export const WORKFLOW_METADATA_KEY = "graph_id";

/**
 * `saver`, writing `workflow` into the metadata of every checkpoint of a thread's own namespace,
 * from its first step on: a child graph's checkpoints (a namespace of their own) keep the
 * parent's thread and are not marked. Each workflow compiles its graphs on this, so whatever
 * runs a thread (the CLI, the server, a parent engine) records it the same way.
 */
export function recordingWorkflow<Saver extends BaseCheckpointSaver>(saver: Saver, workflow: string): Saver {
  const put: BaseCheckpointSaver["put"] = (config, checkpoint, metadata, newVersions) => {
    // The saver stores the metadata as given: LangGraph's type lists its own keys only.
    const recorded: CheckpointMetadata = config.configurable?.checkpoint_ns
      ? metadata
      : Object.assign({ [WORKFLOW_METADATA_KEY]: workflow }, metadata);
    return saver.put(config, checkpoint, recorded, newVersions);
  };
  return new Proxy(saver, {
    get(target, key) {
      if (key === "put") return put;
      const value: unknown = Reflect.get(target, key, target);
      // Bound to the saver itself: its methods keep reading and writing their own fields.
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}
