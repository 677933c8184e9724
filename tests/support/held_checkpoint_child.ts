// Runs a thread whose checkpoint for one step is never saved, for the crash suite's durability
// scenario: the save of that step's checkpoint waits until the process is killed.
//   node --import tsx tests/support/held_checkpoint_child.ts <schema> <threadId> <step> <markerFile> <task>
// Appends "held" to the marker file when the save starts waiting, and "stalled" once no other
// save or write has come for STALL_MS: the run can get no further while that checkpoint is unsaved.
import { appendFileSync } from "node:fs";
import type { RunnableConfig } from "@langchain/core/runnables";
import type { ChannelVersions, Checkpoint, CheckpointMetadata, PendingWrite } from "@langchain/langgraph-checkpoint";
import pg from "pg";
import { BatchedPostgresSaver } from "../../checkpoints/saver.js";
import { ThreadFence } from "../../checkpoints/thread_lock.js";
import { compileWorkflow } from "../../graphs/parallel_workflow.js";
import { startRun } from "../../scripts/parallel_workflow/runner.js";
import { ensureConfiguration } from "../../state/parallel_workflow/configuration.js";

const STALL_MS = 2_000;
const [schema, threadId, step, marker, task] = process.argv.slice(2) as [string, string, string, string, string];

class HeldCheckpointSaver extends BatchedPostgresSaver {
  private lastActivity = Date.now();

  override put(
    config: RunnableConfig,
    checkpoint: Checkpoint,
    metadata: CheckpointMetadata,
    versions: ChannelVersions,
  ): Promise<RunnableConfig> {
    if (metadata.step !== Number(step)) {
      this.lastActivity = Date.now();
      return super.put(config, checkpoint, metadata, versions);
    }
    appendFileSync(marker, "held\n");
    const watch = setInterval(() => {
      if (Date.now() - this.lastActivity < STALL_MS) return;
      clearInterval(watch);
      appendFileSync(marker, "stalled\n");
    }, 100);
    this.lastActivity = Date.now();
    return new Promise(() => {});
  }

  override async putWrites(config: RunnableConfig, writes: PendingWrite[], taskId: string): Promise<void> {
    this.lastActivity = Date.now();
    await super.putWrites(config, writes, taskId);
    this.lastActivity = Date.now();
  }
}

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL });
const fence = new ThreadFence();
const workflow = compileWorkflow(new HeldCheckpointSaver(pool, schema, fence));
await startRun(
  workflow,
  { pool, schema, fence },
  {
    threadId,
    taskQueue: [{ description: task }],
    settings: ensureConfiguration({ configurable: { review: "never" } }),
  },
);
