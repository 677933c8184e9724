import type { RunnableConfig } from "@langchain/core/runnables";
import type {
  ChannelVersions,
  Checkpoint,
  CheckpointListOptions,
  CheckpointMetadata,
  CheckpointTuple,
  PendingWrite,
} from "@langchain/langgraph-checkpoint";
import pg from "pg";
import { DatabaseUnavailableError, messageOf } from "../state/shared/errors.js";
import { BatchedPostgresSaver } from "./saver.js";
import type { ThreadFence } from "./thread_lock.js";

/**
 * A database that goes away mid-run (a restart, a partition) fails the checkpointer's next call
 * with the driver's words ("Connection terminated unexpectedly"). This saver makes that one line
 * saying which database, password masked, and that the saved steps are safe.
 */
export class GuardedPostgresSaver extends BatchedPostgresSaver {
  constructor(
    pool: pg.Pool,
    schema: string,
    private readonly location: string,
    fence: ThreadFence,
  ) {
    super(pool, schema, fence);
  }

  private async guard<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      throw this.lost(error);
    }
  }

  private lost(error: unknown): unknown {
    if (!isConnectionFailure(error)) return error;
    return new DatabaseUnavailableError(
      `Lost the database at ${this.location} (${messageOf(error)}); every step saved before is kept: ` +
        "resume the thread once the database is back",
    );
  }

  override getTuple(config: RunnableConfig): Promise<CheckpointTuple | undefined> {
    return this.guard(() => super.getTuple(config));
  }

  override async *list(config: RunnableConfig, options?: CheckpointListOptions): AsyncGenerator<CheckpointTuple> {
    try {
      yield* super.list(config, options);
    } catch (error) {
      throw this.lost(error);
    }
  }

  override put(
    config: RunnableConfig,
    checkpoint: Checkpoint,
    metadata: CheckpointMetadata,
    newVersions: ChannelVersions,
  ): Promise<RunnableConfig> {
    return this.guard(() => super.put(config, checkpoint, metadata, newVersions));
  }

  override putWrites(config: RunnableConfig, writes: PendingWrite[], taskId: string): Promise<void> {
    return this.guard(() => super.putWrites(config, writes, taskId));
  }
}

/**
 * The connection failed, as opposed to a statement: no server answer at all, or the server's
 * connection-exception (08) and operator-intervention (57: shutdown, restart) classes.
 */
function isConnectionFailure(error: unknown): boolean {
  if (error instanceof DatabaseUnavailableError) return false;
  if (error instanceof pg.DatabaseError) return /^(08|57)/.test(error.code ?? "");
  if (!(error instanceof Error)) return false;
  const code = (error as NodeJS.ErrnoException).code ?? "";
  return (
    /^(ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|EAI_AGAIN)$/.test(code) ||
    /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error/.test(
      error.message,
    )
  );
}
