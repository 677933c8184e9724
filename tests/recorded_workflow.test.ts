import { type BaseCheckpointSaver, emptyCheckpoint, MemorySaver } from "@langchain/langgraph";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { agentStatsOn } from "../checkpoints/dynamic_agents/agent_stats.js";
import { WORKFLOW_METADATA_KEY } from "../checkpoints/recorded_workflow.js";
import { compileDynamicAgents } from "../graphs/dynamic_agents.js";
import {
  loadWorkflow,
  threadWorkflow,
  workflowNames,
  workflowOfReached,
  workflowOfThread,
} from "../graphs/registry.js";
import type { MetricsDatabase } from "../metrics/collector.js";
import { metrics } from "../metrics/optimize.js";
import { listThreads } from "../scripts/commands/threads.js";
import { createTestSchema, type TestSchema } from "./support/database.js";

describe("a thread's recorded workflow", () => {
  it("wins over the node names, which a dynamic_agents thread at sync_point_manager shares with parallel_workflow", () => {
    expect(workflowOfReached(["sync_point_manager"])).toBe("parallel_workflow");
    expect(workflowOfThread({ recorded: "dynamic_agents", reached: ["sync_point_manager"] })).toBe("dynamic_agents");
    // Threads saved before the workflow was recorded, or naming one no longer registered, fall back to the nodes.
    expect(workflowOfThread({ recorded: null, reached: ["agent_generator", "sync_point_manager"] })).toBe(
      "dynamic_agents",
    );
    expect(workflowOfThread({ recorded: "retired_workflow", reached: ["orchestrator"] })).toBe("enterprise_workflow");
  });

  it("is written by every registered workflow's compiled graph into its threads' checkpoints", async () => {
    for (const name of workflowNames()) {
      const saver = new MemorySaver();
      const config = { configurable: { thread_id: `recorded-${name}`, checkpoint_ns: "" } };
      const compiled = (await loadWorkflow(name)).compile(saver) as unknown as { checkpointer: BaseCheckpointSaver };
      await compiled.checkpointer.put(config, emptyCheckpoint(), { source: "input", step: -1, parents: {} }, {});
      const tuple = await saver.getTuple(config);
      expect((tuple?.metadata as Record<string, unknown> | undefined)?.[WORKFLOW_METADATA_KEY], name).toBe(name);
    }
  });
});

describe("a dynamic_agents thread paused at the shared sync_point_manager review, on Postgres", () => {
  let db: TestSchema;
  let pool: pg.Pool;
  let database: MetricsDatabase;
  const threadId = "recorded-agents";

  beforeAll(async () => {
    db = await createTestSchema();
    pool = new pg.Pool({ connectionString: db.databaseUrl, max: 2 });
    database = { pool, schema: db.schema, checkpointer: db.checkpointer };
    const workflow = compileDynamicAgents(db.checkpointer, agentStatsOn(pool, db.schema));
    await workflow.invoke(
      { taskQueue: [{ description: "Survey vector databases", type: "research" }] },
      { configurable: { thread_id: threadId, model: "offline", review: "always" } },
    );
    expect((await workflow.getState({ configurable: { thread_id: threadId } })).next).toEqual(["sync_point_manager"]);
  });
  afterAll(async () => {
    await pool?.end();
    await db?.cleanup();
  });

  const recorded = async () =>
    (
      await pool.query<{ recorded: string | null }>(
        `SELECT metadata->>'${WORKFLOW_METADATA_KEY}' AS recorded FROM "${db.schema}".checkpoints WHERE thread_id = $1 AND checkpoint_ns = '' ORDER BY checkpoint_id`,
        [threadId],
      )
    ).rows.map((row) => row.recorded);

  const measuredWorkflows = async () =>
    (await metrics(database)).map((measured) => [measured.workflow, measured.threads]);

  it("records dynamic_agents in every checkpoint, and the CLI, the listing and metrics read it", async () => {
    expect(new Set(await recorded())).toEqual(new Set(["dynamic_agents"]));
    expect(await threadWorkflow(db, threadId)).toBe("dynamic_agents");
    expect((await listThreads(db, { limit: 5 })).map((row) => [row.threadId, row.workflow])).toEqual([
      [threadId, "dynamic_agents"],
    ]);
    expect(await measuredWorkflows()).toEqual([["dynamic_agents", 1]]);
  });

  it("falls back to every node reached for a thread saved before the workflow was recorded", async () => {
    await pool.query(
      `UPDATE "${db.schema}".checkpoints SET metadata = metadata - '${WORKFLOW_METADATA_KEY}' WHERE thread_id = $1`,
      [threadId],
    );
    expect(new Set(await recorded())).toEqual(new Set([null]));
    expect(await threadWorkflow(db, threadId)).toBe("dynamic_agents");
    expect((await listThreads(db, { limit: 5 }))[0]?.workflow).toBe("dynamic_agents");
    expect(await measuredWorkflows()).toEqual([["dynamic_agents", 1]]);
  });
});
