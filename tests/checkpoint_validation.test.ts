import { validate } from "@langchain/langgraph-checkpoint-validation";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { PostgresSaver } from "@langchain/langgraph-checkpoint-postgres";
import { createTestSchema, type TestSchema } from "./support/database.js";

// LangGraph's own contract for checkpoint savers, run against the saver the product opens, on a
// schema of its own. The suite calls vitest's globals (its CLI runs vitest with `globals: true`):
// this file lends them to it instead of turning them on for every test file.
Object.assign(globalThis, { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it });

let db: TestSchema;

validate<PostgresSaver>({
  checkpointerName: "BatchedPostgresSaver",
  beforeAllTimeout: 120_000,
  async beforeAll() {
    db = await createTestSchema();
  },
  afterAll: () => db?.cleanup(),
  // One saver on one schema, emptied before each test: the suite asks that no test sees another's rows.
  async createCheckpointer() {
    const schema = `"${db.schema}"`;
    await db.pool.query(
      `DELETE FROM ${schema}.checkpoint_writes; DELETE FROM ${schema}.checkpoint_blobs; DELETE FROM ${schema}.checkpoints`,
    );
    return db.checkpointer;
  },
});
