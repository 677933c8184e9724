import { randomBytes } from "node:crypto";
import {
  compareChannelVersions,
  emptyCheckpoint,
  INTERRUPT,
  maxChannelVersion,
  uuid6,
  type Checkpoint,
} from "@langchain/langgraph-checkpoint";
import { PostgresSaver } from "@langchain/langgraph-checkpoint-postgres";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { openCheckpointer, type Checkpointer } from "../checkpoints/index.js";
import { BatchedPostgresSaver } from "../checkpoints/saver.js";
import { nextChannelVersion, withLoadedVersions, withStoredVersions } from "../checkpoints/versions.js";
import { testDatabaseUrl } from "./support/database.js";

// BatchedPostgresSaver writes in one statement what PostgresSaver writes row by row:
// whatever either saves, the stock saver must read back the same.

let db: Checkpointer;
let schema: string;
let stock: PostgresSaver;

beforeAll(async () => {
  schema = `t_${randomBytes(6).toString("hex")}`;
  db = await openCheckpointer({ databaseUrl: testDatabaseUrl(), schema });
  stock = new PostgresSaver(db.pool, undefined, { schema });
});
afterAll(async () => {
  await db?.pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await db?.close();
});

/** One checkpoint with three channels, one of them emptied, and the writes of three tasks. */
const CHECKPOINT: Checkpoint = {
  ...emptyCheckpoint(),
  id: uuid6(-1),
  channel_values: { results: { b1: { summary: "ok", bytes: new Uint8Array([0, 1, 255]) } }, status: "running" },
  channel_versions: { results: 2, status: 1, cleared: 3 },
};

async function save(saver: PostgresSaver, threadId: string) {
  const config = await saver.put(
    { configurable: { thread_id: threadId, checkpoint_ns: "" } },
    CHECKPOINT,
    { source: "loop", step: 1, parents: {} },
    { results: 2, status: 1, cleared: 3 },
  );
  await saver.putWrites(
    config,
    [
      ["results", { b2: "first" }],
      ["status", "done"],
    ],
    "task-a",
  );
  // A regular write saved twice keeps the first; an interrupt saved twice keeps the last.
  await saver.putWrites(config, [["results", { b2: "again" }]], "task-a");
  await saver.putWrites(
    config,
    [
      [INTERRUPT, "pause 1"],
      [INTERRUPT, "pause 2"],
    ],
    "task-b",
  );
  await saver.putWrites(config, [], "task-c");
  return config;
}

describe("BatchedPostgresSaver", () => {
  it("is what openCheckpointer opens", () => {
    expect(db.checkpointer).toBeInstanceOf(BatchedPostgresSaver);
  });

  it("saves checkpoints, blobs and writes that read back exactly as the stock saver's", async () => {
    const batched = await save(db.checkpointer, "batched");
    const plain = await save(stock, "plain");
    const [a, b] = await Promise.all([stock.getTuple(batched), stock.getTuple(plain)]);
    expect(a!.checkpoint).toEqual(b!.checkpoint);
    expect(a!.metadata).toEqual(b!.metadata);
    expect(a!.pendingWrites).toEqual(b!.pendingWrites);
    expect(a!.checkpoint.channel_values).toEqual({
      results: { b1: { summary: "ok", bytes: new Uint8Array([0, 1, 255]) } },
      status: "running",
    });
    expect(a!.pendingWrites).toEqual([
      ["task-a", "results", { b2: "first" }],
      ["task-a", "status", "done"],
      ["task-b", INTERRUPT, "pause 2"],
    ]);
  });

  it("saves the writes of tasks that finish together in one statement, each caller waiting for it", async () => {
    const config = await db.checkpointer.put(
      { configurable: { thread_id: "together", checkpoint_ns: "" } },
      CHECKPOINT,
      { source: "loop", step: 1, parents: {} },
      {},
    );
    // The checkpointer has a pool of its own, apart from db.pool: count the statements of any pool.
    const query = vi.spyOn(pg.Pool.prototype, "query");
    try {
      await Promise.all(
        ["t1", "t2", "t3"].map((task) => db.checkpointer.putWrites(config, [["results", { [task]: "done" }]], task)),
      );
      expect(query).toHaveBeenCalledTimes(1);
    } finally {
      query.mockRestore();
    }
    expect((await stock.getTuple(config))!.pendingWrites).toEqual([
      ["t1", "results", { t1: "done" }],
      ["t2", "results", { t2: "done" }],
      ["t3", "results", { t3: "done" }],
    ]);
  });

  it("links a checkpoint to its parent", async () => {
    const first = await db.checkpointer.put(
      { configurable: { thread_id: "chain", checkpoint_ns: "" } },
      { ...emptyCheckpoint(), id: uuid6(-1) },
      { source: "input", step: -1, parents: {} },
      {},
    );
    const second = await db.checkpointer.put(
      first,
      { ...emptyCheckpoint(), id: uuid6(-1) },
      { source: "loop", step: 0, parents: {} },
      {},
    );
    expect((await stock.getTuple(second))!.parentConfig?.configurable?.checkpoint_id).toBe(
      first.configurable!.checkpoint_id,
    );
  });
});

describe("channel versions", () => {
  const padded = (n: number, fraction: string) => `${String(n).padStart(32, "0")}.${fraction}`;

  it("are what the saver hands LangGraph: a new thread's a 32-digit counter and 16 random digits", () => {
    expect(db.checkpointer.getNextVersion(undefined)).toMatch(/^0{31}1\.\d{16}$/);
    expect(nextChannelVersion(padded(99, "1234567890123456"))).toMatch(/^0{29}100\.\d{16}$/);
  });

  it("stay numbers on a thread saved with numbers: the next integer and a random fraction", () => {
    for (const current of [41, 41.25]) {
      const next = nextChannelVersion(current);
      expect(typeof next).toBe("number");
      expect(Math.floor(next as number)).toBe(42);
      expect(Number.isInteger(next)).toBe(false);
      // What the blob is saved under, and how the checkpoint's JSON prints it, are the same digits.
      expect(JSON.stringify(next)).toBe(String(next));
    }
  });

  it("never repeat, though minted from the same version, as two forks of one checkpoint mint them", () => {
    for (const from of [nextChannelVersion(undefined), 7]) {
      const minted = Array.from({ length: 1000 }, () => nextChannelVersion(from));
      expect(new Set(minted).size).toBe(1000);
    }
  });

  it("order the same under LangGraph's two comparisons, `>` and maxChannelVersion", () => {
    const strings = [undefined, padded(1, "5"), padded(9, "5"), padded(10, "5"), padded(99, "5")].map((v) =>
      nextChannelVersion(v),
    );
    const numbers = [1, 9, 10, 99.5, 100].map((n) => nextChannelVersion(n));
    for (const versions of [strings, numbers]) {
      versions.forEach((v, i) => {
        for (const later of versions.slice(i + 1)) {
          expect(later > v).toBe(true);
          expect(compareChannelVersions(later, v)).toBe(1);
          expect(maxChannelVersion(later, v)).toBe(later);
        }
      });
    }
    // Where LangGraph compares with its null version, 0 or "".
    expect(strings[0]! > "" && Number(strings[0]) > 0 && Number(numbers[0]) > 0).toBe(true);
  });

  it("read back as saved, integers included, as LangGraph's validation suite asks", () => {
    const saved: Pick<Checkpoint, "channel_versions" | "versions_seen"> = {
      channel_versions: { task: 7, status: nextChannelVersion(7) },
      versions_seen: { task_analyzer: { task: 7 } },
    };
    expect(withLoadedVersions(saved)).toEqual(saved);
    expect(withStoredVersions(saved)).toEqual(saved);
  });

  it("of a checkpoint holding integers and strings read the integers as strings in order, and save them back as integers", () => {
    const minted = nextChannelVersion(padded(7, "0000000000000001"));
    const saved: Pick<Checkpoint, "channel_versions" | "versions_seen"> = {
      channel_versions: { task: 7, status: minted },
      versions_seen: { task_analyzer: { task: 7 } },
    };
    const loaded = withLoadedVersions(saved);
    expect(loaded).toEqual({
      channel_versions: { task: padded(7, "0".repeat(16)), status: minted },
      versions_seen: { task_analyzer: { task: padded(7, "0".repeat(16)) } },
    });
    const { task, status } = loaded.channel_versions;
    expect(maxChannelVersion(task!, status!)).toBe(status);
    expect(nextChannelVersion(task) > String(task)).toBe(true);
    expect(withStoredVersions(loaded)).toEqual(saved);
  });
});
