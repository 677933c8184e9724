import type { RunnableConfig } from "@langchain/core/runnables";
import {
  WRITES_IDX_MAP,
  type ChannelVersions,
  type Checkpoint,
  type CheckpointMetadata,
  type PendingWrite,
} from "@langchain/langgraph-checkpoint";
import { PostgresSaver } from "@langchain/langgraph-checkpoint-postgres";
import type pg from "pg";
import { LEASE_TOKEN_KEY, leaseLost, ThreadFence } from "./thread_lock.js";
import { nextChannelVersion, storedVersion, withLoadedVersions, withStoredVersions } from "./versions.js";

/**
 * PostgresSaver that saves a checkpoint, and a task's writes, in one statement each.
 * The stock saver sends BEGIN, one INSERT per changed channel or per write, then COMMIT:
 * task_analyzer's step alone took sixteen round trips, and a 100-branch fan-out five
 * hundred, each one a wake-up of a Postgres server that shares this machine's cores.
 * One statement is atomic by itself, so a crash still leaves all of a call's rows or
 * none of them, as the transaction did. Reads, setup and the table layout are the
 * stock saver's.
 *
 * The writes of tasks that finish in the same turn of the event loop (a wave's branches,
 * whose model calls end together) go in one statement too; each caller still returns
 * only once its rows are committed, and a statement that fails fails every caller in it.
 *
 * Channel versions are unique (see ./versions.ts), so forks of one checkpoint never write
 * different values under one blob key, and read back as they were written.
 *
 * Blobs go as parameters of their own, one per blob: node-postgres sends a Buffer parameter as
 * binary, but a Buffer inside an array parameter as hex text in an array literal, twice its size
 * and escaped, which the engine's growing channels made the largest CPU cost of a step after
 * LangGraph's own serialisation.
 *
 * A thread whose lease this process holds (listed in `fence`) is written only while the lease is
 * still its own: each statement reads the lease row FOR SHARE, so a takeover waits for a write in
 * flight and a write after it finds another token, writes nothing and fails with LeaseLostError.
 */
export class BatchedPostgresSaver extends PostgresSaver {
  private readonly sql: { put: SqlByBlobCount; upsertWrites: SqlByBlobCount; insertWrites: SqlByBlobCount };
  private readonly fence: ThreadFence;
  private queued: QueuedWrites[] = [];

  constructor(
    private readonly db: pg.Pool,
    schema: string,
    fence = new ThreadFence(),
  ) {
    super(db, undefined, { schema });
    this.fence = fence;
    const table = (name: string) => `"${schema}".${name}`;
    // The leases among the tokens given that are still held; a null token is a write of a thread not leased here.
    const held = (tokens: string) =>
      `held AS (SELECT token FROM ${table("thread_leases")} WHERE token = ANY(${tokens}) FOR SHARE)`;
    const writes = (conflict: string) =>
      sqlByBlobCount(
        9,
        (blobs) => `WITH ${held("$8::bigint[]")}, saved AS (
      INSERT INTO ${table("checkpoint_writes")} (thread_id, checkpoint_ns, checkpoint_id, task_id, idx, channel, type, blob)
      SELECT w.thread_id, w.checkpoint_ns, w.checkpoint_id, w.task_id, w.idx, w.channel, w.type, bv.blob
      FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int[], $6::text[], $7::text[], $8::bigint[])
        WITH ORDINALITY AS w(thread_id, checkpoint_ns, checkpoint_id, task_id, idx, channel, type, token, n)
      JOIN ${blobs} ON bv.n = w.n
      WHERE w.token IS NULL OR w.token IN (SELECT token FROM held)
      ORDER BY w.n
      ON CONFLICT (thread_id, checkpoint_ns, checkpoint_id, task_id, idx) ${conflict})
      SELECT token::text FROM held`,
      );
    this.sql = {
      // The blobs go in a data-modifying CTE: Postgres runs it to completion with the statement.
      put: sqlByBlobCount(
        11,
        (
          blobs,
        ) => `WITH ${held("ARRAY[$10::bigint]")}, fenced AS (SELECT $10::bigint IS NULL OR EXISTS (SELECT 1 FROM held) AS open),
      blobs AS (
        INSERT INTO ${table("checkpoint_blobs")} (thread_id, checkpoint_ns, channel, version, type, blob)
        SELECT $1::text, $2::text, b.channel, b.version, b.type, bv.blob
        FROM unnest($3::text[], $4::text[], $5::text[]) WITH ORDINALITY AS b(channel, version, type, n)
        JOIN ${blobs} ON bv.n = b.n
        WHERE (SELECT open FROM fenced)
        ON CONFLICT (thread_id, checkpoint_ns, channel, version) DO NOTHING
      ), saved AS (
      INSERT INTO ${table("checkpoints")} (thread_id, checkpoint_ns, checkpoint_id, parent_checkpoint_id, checkpoint, metadata)
      SELECT $1, $2, $6, $7, $8::jsonb, $9::jsonb WHERE (SELECT open FROM fenced)
      ON CONFLICT (thread_id, checkpoint_ns, checkpoint_id)
      DO UPDATE SET checkpoint = EXCLUDED.checkpoint, metadata = EXCLUDED.metadata)
      SELECT open FROM fenced`,
      ),
      upsertWrites: writes("DO UPDATE SET channel = EXCLUDED.channel, type = EXCLUDED.type, blob = EXCLUDED.blob"),
      insertWrites: writes("DO NOTHING"),
    };
  }

  override async put(
    config: RunnableConfig,
    checkpoint: Checkpoint,
    metadata: CheckpointMetadata,
    newVersions: ChannelVersions,
  ): Promise<RunnableConfig> {
    if (config.configurable === undefined) throw new Error(`Missing "configurable" field in "config" param`);
    const { thread_id, checkpoint_ns = "", checkpoint_id } = config.configurable;
    const [blobs, serializedMetadata] = await Promise.all([
      this._dumpBlobs(
        thread_id,
        checkpoint_ns,
        checkpoint.channel_values,
        Object.fromEntries(Object.entries(newVersions).map(([channel, version]) => [channel, storedVersion(version)])),
      ),
      this._dumpMetadata(metadata),
    ]);
    const { rows } = await this.db.query<{ open: boolean }>(this.sql.put(blobs.length), [
      thread_id,
      checkpoint_ns,
      blobs.map((b) => b[2]),
      blobs.map((b) => b[3]),
      blobs.map((b) => b[4]),
      checkpoint.id,
      checkpoint_id,
      this._dumpCheckpoint(withStoredVersions(checkpoint)),
      serializedMetadata,
      this.tokenFor(config),
      ...blobs.map((b) => b[5] ?? null),
    ]);
    if (!rows[0]?.open) throw leaseLost(thread_id);
    return { configurable: { thread_id, checkpoint_ns, checkpoint_id: checkpoint.id } };
  }

  protected override async _loadCheckpoint(
    checkpoint: Omit<Checkpoint, "pending_sends" | "channel_values">,
    channelValues: [Uint8Array, Uint8Array, Uint8Array][],
  ): Promise<Checkpoint> {
    return withLoadedVersions(await super._loadCheckpoint(checkpoint, channelValues));
  }

  /** The lease a write is made under: the run's own (its config), else the one this process holds on the thread. */
  private tokenFor(config: RunnableConfig): string | null {
    const carried = config.configurable?.[LEASE_TOKEN_KEY];
    return typeof carried === "string" ? carried : this.fence.tokenOf(config.configurable?.thread_id);
  }

  override async putWrites(config: RunnableConfig, writes: PendingWrite[], taskId: string): Promise<void> {
    if (writes.length === 0) return;
    const { thread_id, checkpoint_ns, checkpoint_id } = config.configurable ?? {};
    const token = this.tokenFor(config);
    const rows = (await this._dumpWrites(thread_id, checkpoint_ns, checkpoint_id, taskId, writes)).map(
      (row): FencedRow => [...row, token],
    );
    // Special channels (errors, interrupts, resumes) overwrite their slot, at once. One
    // statement cannot update a row twice: of writes to the same slot, the last is what
    // the stock saver's row-by-row upserts would have left.
    if (writes.every(([channel]) => channel in WRITES_IDX_MAP)) {
      const held = await this.writeRows(this.sql.upsertWrites, [...new Map(rows.map((row) => [row[4], row])).values()]);
      if (!held.has(token)) throw leaseLost(thread_id);
      return;
    }
    // Other writes keep the first row of a slot, so rows of several tasks can share a statement.
    return new Promise((resolve, reject) => {
      this.queued.push({ rows, resolve, reject });
      if (this.queued.length === 1) setImmediate(() => void this.flushWrites());
    });
  }

  private async flushWrites(): Promise<void> {
    const queued = this.queued;
    this.queued = [];
    // A statement's blobs are its parameters: callers beyond MAX_BLOBS rows go in the next one, never split.
    const batches: QueuedWrites[][] = [];
    let rows = MAX_BLOBS;
    for (const caller of queued) {
      if (rows + caller.rows.length > MAX_BLOBS) {
        batches.push([]);
        rows = 0;
      }
      batches.at(-1)!.push(caller);
      rows += caller.rows.length;
    }
    await Promise.all(batches.map((batch) => this.flushBatch(batch)));
  }

  private async flushBatch(batch: QueuedWrites[]): Promise<void> {
    let held: Set<string | null>;
    try {
      held = await this.writeRows(
        this.sql.insertWrites,
        batch.flatMap((b) => b.rows),
      );
    } catch (error) {
      for (const b of batch) b.reject(error);
      return;
    }
    for (const b of batch) {
      const refused = b.rows.find((row) => !held.has(row[8]));
      if (refused) b.reject(leaseLost(refused[0]));
      else b.resolve();
    }
  }

  /** Writes the rows whose lease is held (or that have none); returns the tokens found held, and null. */
  private async writeRows(sql: SqlByBlobCount, rows: FencedRow[]): Promise<Set<string | null>> {
    const columns = [0, 1, 2, 3, 4, 5, 6, 8].map((column) => rows.map((row) => row[column]));
    const { rows: held } = await this.db.query<{ token: string }>(sql(rows.length), [
      ...columns,
      ...rows.map((row) => row[7]),
    ]);
    return new Set([null, ...held.map((row) => row.token)]);
  }
}

/** Blobs in one statement at most: Postgres takes 65535 parameters, and the other columns take a few. */
const MAX_BLOBS = 60_000;
/** Statements kept by blob count: a checkpoint's changed channels, a wave's writes. */
const COUNTS_KEPT = 512;

/** A statement for a number of blobs. */
type SqlByBlobCount = (blobs: number) => string;

/**
 * `statement` is given the blobs as a relation `bv(n, blob)`, n counting from 1 in the order the
 * rows are given, each blob the parameter `$<firstBlob + n - 1>`.
 */
function sqlByBlobCount(firstBlob: number, statement: (blobs: string) => string): SqlByBlobCount {
  const made = new Map<number, string>();
  return (count) => {
    let sql = made.get(count);
    if (sql === undefined) {
      const values = Array.from({ length: count }, (_, i) => `(${i + 1}, $${firstBlob + i}::bytea)`).join(", ");
      sql = statement(
        count ? `(VALUES ${values}) AS bv(n, blob)` : "(SELECT 0::bigint, NULL::bytea WHERE false) AS bv(n, blob)",
      );
      if (count <= COUNTS_KEPT) made.set(count, sql);
    }
    return sql;
  };
}

// PostgresSaver declares its versions as numbers (BaseCheckpointSaver<number>), so a method
// returning strings cannot be declared as an override; LangGraph and the tables take either.
Object.defineProperty(BatchedPostgresSaver.prototype, "getNextVersion", { value: nextChannelVersion });

type WriteRow = Awaited<ReturnType<PostgresSaver["_dumpWrites"]>>[number];
/** A write's row and the token of the lease it is written under (null: a thread not leased here). */
type FencedRow = [...WriteRow, string | null];
/** One putWrites call waiting for its batch's statement. */
interface QueuedWrites {
  rows: FencedRow[];
  resolve: () => void;
  reject: (error: unknown) => void;
}
