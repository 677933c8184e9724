import pg from "pg";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { agentStatsOn } from "../../checkpoints/dynamic_agents/agent_stats.js";
import { compileDynamicAgents, dynamicAgentsBuilder } from "../../graphs/dynamic_agents.js";
import { AGENT_TEMPLATES, parseTemplateFile, type TemplateRegistry } from "../../state/dynamic_agents/templates.js";
import {
  FAULTS_ENV,
  LATENCY_ENV,
  offlineCallCounts,
  resetOfflineCallCounts,
  type FaultPlan,
} from "../../models/offline/runtime.js";
import { ledgerProblems } from "../../nodes/dynamic_agents/resources.js";
import { summariseAgents } from "../../nodes/dynamic_agents/summary.js";
import type { DynamicAgentsStateType } from "../../state/dynamic_agents/state.js";
import type { DynamicTask } from "../../state/dynamic_agents/types.js";
import { createTestSchema, type TestSchema } from "../support/database.js";

// Real threads on Postgres, answered by the offline model; faults are keyed by agent id.

let db: TestSchema;
let pool: pg.Pool;
let workflow: ReturnType<typeof compileDynamicAgents>;

beforeAll(async () => {
  db = await createTestSchema();
  pool = new pg.Pool({ connectionString: db.databaseUrl });
  workflow = compileDynamicAgents(db.checkpointer, agentStatsOn(pool, db.schema));
});
afterEach(() => {
  delete process.env[FAULTS_ENV];
  delete process.env[LATENCY_ENV];
  resetOfflineCallCounts();
});
afterAll(async () => {
  await pool?.end();
  await db?.cleanup();
});

const research = (description: string, extra: Partial<DynamicTask> = {}): DynamicTask => ({
  description,
  type: "research",
  complexity: 0.9,
  ...extra,
});
const analysis = (description: string, extra: Partial<DynamicTask> = {}): DynamicTask => ({
  description,
  type: "analysis",
  ...extra,
});
const THREE = [
  research("Survey vector databases"),
  research("Survey embedding models"),
  analysis("Estimate hosting costs"),
];

// These tests are about the agents: no review, and a gate every merged result passes (the gate has tests of its own).
async function run(
  threadId: string,
  taskQueue: DynamicTask[],
  options: { faults?: FaultPlan; configurable?: Record<string, unknown> } = {},
) {
  if (options.faults) process.env[FAULTS_ENV] = JSON.stringify(options.faults);
  const state = (await workflow.invoke(
    { taskQueue },
    {
      configurable: {
        thread_id: threadId,
        model: "offline",
        review: "never",
        qualityThreshold: 0,
        ...options.configurable,
      },
    },
  )) as DynamicAgentsStateType;
  return { state, agents: summariseAgents(state.agents, state.agentResults) };
}

const statuses = (agents: ReturnType<typeof summariseAgents>) => agents.map((a) => [a.agentId, a.agentType, a.status]);

describe("the dynamic agents workflow", () => {
  it("runs two research agents and an analysis agent, then a coordinator that combines their three outputs", async () => {
    const { state, agents } = await run("four", THREE);
    expect(statuses(agents)).toEqual([
      ["four/agent-0", "research_specialist", "completed"],
      ["four/agent-1", "research_specialist", "completed"],
      ["four/agent-2", "analysis_specialist", "completed"],
      ["four/agent-3", "coordination_specialist", "completed"],
    ]);
    expect(state.status).toBe("completed");
    expect(state.agents["four/agent-3"]!.specification!.specializationParameters.agent_count).toBe(3);
    // One model call per agent; the coordinator's prompt carried the three others' outputs.
    // Besides the agents, the shared merge and the quality judge call the model once each.
    expect(offlineCallCounts()).toEqual({
      "four/agent-0": 1,
      "four/agent-1": 1,
      "four/agent-2": 1,
      "four/agent-3": 1,
      branch_merger: 2,
      quality_validator: 1,
    });
    const coordinator = state.agentResults["four/agent-3"]!;
    expect(coordinator.results!.findings.length).toBeGreaterThan(0);
    for (const result of Object.values(state.agentResults)) {
      expect(result.performance.dataQualityScore).toBeGreaterThan(0);
      expect(result.resources.tokensUsed).toBeGreaterThan(0);
      expect(result.resources.reserved.slots).toBe(1);
    }
    expect(ledgerProblems(state.resourceLedger)).toEqual([]);
    expect(state.resourceLedger).toHaveLength(8);
    const [created, finished] = state.executionTimeline;
    expect(created).toMatchObject({ event: "dynamic_agent_creation", agentsCreated: 3 });
    expect(finished).toMatchObject({
      event: "dynamic_agents_finished",
      completed: 4,
      failed: 0,
      rejectedForResources: 0,
    });
    const { rows } = await pool.query(
      `SELECT agent_id, status FROM "${db.schema}".agent_runs WHERE thread_id = 'four' ORDER BY agent_id`,
    );
    expect(rows.map((r) => [r.agent_id, r.status])).toEqual(agents.map((a) => [a.agentId, "success"]));
  });

  it("runs two research agents and no coordinator for two research tasks", async () => {
    const { state, agents } = await run("two", THREE.slice(0, 2));
    expect(statuses(agents)).toEqual([
      ["two/agent-0", "research_specialist", "completed"],
      ["two/agent-1", "research_specialist", "completed"],
    ]);
    expect(state.status).toBe("completed");
    expect(ledgerProblems(state.resourceLedger)).toEqual([]);
  });

  it("rejects the third agent for resources with a two-slot pool, completes with the others, and balances the ledger", async () => {
    const { state, agents } = await run("slots", THREE, { configurable: { maxConcurrency: 2 } });
    expect(agents.map((a) => a.status)).toEqual(["completed", "completed", "rejected_for_resources", "completed"]);
    expect(agents[2]!.error).toBe(
      "ResourceUnavailableError: insufficient resources for agent type analysis_specialist: slots 0 free of 2, needs 1",
    );
    expect(state.status).toBe("completed");
    expect(offlineCallCounts()["slots/agent-2"]).toBeUndefined();
    expect(ledgerProblems(state.resourceLedger)).toEqual([]);
    expect(state.resourceLedger.map((e) => [e.agentId, e.kind])).toEqual([
      ["slots/agent-0", "allocate"],
      ["slots/agent-1", "allocate"],
      // The two agents' releases come in the order they finished.
      ...state.resourceLedger.slice(2, 4).map((e) => [e.agentId, "release"]),
      ["slots/agent-3", "allocate"],
      ["slots/agent-3", "release"],
    ]);
  });

  it("retries a failing agent within its retry budget, records it failed after that, and coordinates the rest", async () => {
    const { state, agents } = await run("retry", THREE, {
      faults: { "retry/agent-0": { fail: 2 }, "retry/agent-1": { fail: 100 } },
    });
    expect(agents.map((a) => a.status)).toEqual(["completed", "failed", "completed", "completed"]);
    expect(state.agentResults["retry/agent-0"]).toMatchObject({ status: "success", attempt: 3, modelCalls: 3 });
    expect(state.agentResults["retry/agent-1"]).toMatchObject({ status: "failed", attempt: 4, modelCalls: 4 });
    expect(agents[1]!.error).toMatch(/^AgentRunError: attempt 4 of 4: offline fault: retry\/agent-1 call 4/);
    expect(offlineCallCounts()).toMatchObject({
      "retry/agent-0": 3,
      "retry/agent-1": 4,
      "retry/agent-2": 1,
      "retry/agent-3": 1,
    });
    // The coordinator combined the two that succeeded, and the merge went on without the failed one.
    expect(state.executionTimeline.filter((e) => e.event === "intelligent_merge_completed")).toHaveLength(1);
    expect(state.integrationResult!.integrationMetadata).toMatchObject({
      successfulBranches: 3,
      failedBranches: ["retry/agent-1"],
    });
    expect(state.status).toBe("completed");
    expect(ledgerProblems(state.resourceLedger)).toEqual([]);
    const { rows } = await pool.query(
      `SELECT agent_id, status FROM "${db.schema}".agent_runs WHERE thread_id = 'retry' ORDER BY agent_id`,
    );
    expect(rows.map((r) => r.status)).toEqual(["success", "failed", "success", "success"]);
  });

  it("fails a hanging agent at its timeout, once, and the others proceed", async () => {
    const { state, agents } = await run("hang", [research("a"), research("b", { deadline: 1 }), analysis("c")], {
      faults: { "hang/agent-1": { hang: true } },
    });
    expect(agents.map((a) => a.status)).toEqual(["completed", "failed", "completed", "completed"]);
    expect(state.agentResults["hang/agent-1"]).toMatchObject({
      status: "failed",
      timedOut: true,
      attempt: 1,
      error: { kind: "AgentTimeoutError", message: "timed out after 1 s (attempt 1)" },
    });
    expect(offlineCallCounts()["hang/agent-1"]).toBe(1);
    // At its 1 s timeout: not before, and not at the run's or the merge's later limits.
    const { executionTime } = state.agentResults["hang/agent-1"]!.performance;
    expect(executionTime).toBeGreaterThanOrEqual(1);
    expect(executionTime).toBeLessThan(1.5);
    expect(state.status).toBe("completed");
    expect(ledgerProblems(state.resourceLedger)).toEqual([]);
  });

  it("ends an agent no template suits, and agents whose model cannot be made, as records; with no agent left the gate fails the run", async () => {
    const unsuited = await run("unsuited", [
      { description: "Research and analyse at once", capabilities: ["research", "analysis"] },
      research("b"),
    ]);
    expect(unsuited.state.status).toBe("completed");
    expect(unsuited.agents.map((a) => [a.agentType, a.status, a.error])).toEqual([
      [
        null,
        "failed",
        "NoSuitableAgentError: no agent template has all of the required capabilities: research, analysis",
      ],
      ["research_specialist", "completed", null],
    ]);

    const key = process.env.OPENAI_API_KEY;
    delete process.env.OPENAI_API_KEY;
    try {
      const { state, agents } = await run("no-model", THREE.slice(0, 2), {
        configurable: { model: "openai:gpt-4o-mini" },
      });
      expect([state.status, state.failureReason]).toEqual(["failed", "no branch succeeded"]);
      expect(agents.map((a) => [a.status, a.error])).toEqual([
        [
          "failed",
          "AgentCreationError: failed to create agent no-model/agent-0: model 'openai:gpt-4o-mini' needs OPENAI_API_KEY; or use 'offline'",
        ],
        [
          "failed",
          "AgentCreationError: failed to create agent no-model/agent-1: model 'openai:gpt-4o-mini' needs OPENAI_API_KEY; or use 'offline'",
        ],
      ]);
      expect(state.resourceLedger).toEqual([]);
    } finally {
      if (key !== undefined) process.env.OPENAI_API_KEY = key;
    }
  });

  // The graph's input schema refuses it (the one-line message is parseDynamicAgentsInput's, for the CLI).
  it("refuses a bad task queue before anything is saved", async () => {
    const config = { configurable: { thread_id: "bad", model: "offline" } };
    await expect(
      workflow.invoke(JSON.parse('{"taskQueue": [{"description": "x", "type": "poetry"}]}'), config),
    ).rejects.toThrow(/unknown capability/);
    await expect(
      workflow.invoke({ taskQueue: [{ description: "x", type: "research", deadline: -1 }] }, config),
    ).rejects.toThrow(/positive number of seconds/);
    expect((await workflow.getState(config)).values).toEqual({});
    const { rows } = await pool.query(
      `SELECT count(*)::int AS n FROM "${db.schema}".checkpoints WHERE thread_id = 'bad'`,
    );
    expect(rows[0].n).toBe(0);
  });

  describe("maxConcurrentTasks and monitoringEnabled", () => {
    const research = AGENT_TEMPLATES.research_specialist!;
    const compileWith = (registry: TemplateRegistry) =>
      dynamicAgentsBuilder(agentStatsOn(pool, db.schema), registry).compile({ checkpointer: db.checkpointer });
    const TWO_RESEARCH = THREE.slice(0, 2);
    // Each model call waits this long, so agents running side by side overlap in their recorded times.
    const MODEL_LATENCY_MS = "100";

    /** The research agents' recorded runs, earliest start first. */
    async function researchRuns(threadId: string, registry: TemplateRegistry) {
      process.env[LATENCY_ENV] = MODEL_LATENCY_MS;
      const state = (await compileWith(registry).invoke(
        { taskQueue: TWO_RESEARCH },
        { configurable: { thread_id: threadId, model: "offline", review: "never", qualityThreshold: 0 } },
      )) as DynamicAgentsStateType;
      return Object.values(state.agentResults)
        .filter((r) => r.agentType === "research_specialist")
        .sort((a, b) => a.startedAt.localeCompare(b.startedAt));
    }

    it("with maxConcurrentTasks: 1 a template's second agent starts only after its first has finished", async () => {
      const [first, second] = await researchRuns("serial", {
        ...AGENT_TEMPLATES,
        research_specialist: { ...research, maxConcurrentTasks: 1 },
      });
      expect(second!.startedAt >= first!.completedAt).toBe(true);
    });

    it("with the default limit (3) the same two agents run side by side", async () => {
      const [first, second] = await researchRuns("parallel", AGENT_TEMPLATES);
      expect(second!.startedAt < first!.completedAt).toBe(true);
    });

    it("records each monitored agent's start, seconds and error, and nothing of an unmonitored template's", async () => {
      await run("monitored", THREE, { faults: { "monitored/agent-2": { fail: 100 } } });
      const { rows } = await pool.query(
        `SELECT agent_id, started_at IS NOT NULL AS started, seconds >= 0 AS timed, error FROM "${db.schema}".agent_runs WHERE thread_id = 'monitored' ORDER BY agent_id`,
      );
      expect(rows.map((r) => [r.agent_id, r.started, r.timed])).toEqual(
        ["0", "1", "2", "3"].map((n) => [`monitored/agent-${n}`, true, true]),
      );
      expect(rows.map((r) => r.error)).toEqual([
        null,
        null,
        expect.stringMatching(/^AgentRunError: attempt 4 of 4: offline fault/),
        null,
      ]);
      const stats = await agentStatsOn(pool, db.schema).readStats();
      expect(stats.analysis_specialist).toMatchObject({
        errors: 1,
        lastError: expect.stringMatching(/^AgentRunError/),
      });

      const quiet = dynamicAgentsBuilder(agentStatsOn(pool, db.schema), {
        ...AGENT_TEMPLATES,
        research_specialist: { ...research, monitoringEnabled: false },
      });
      await quiet
        .compile({ checkpointer: db.checkpointer })
        .invoke(
          { taskQueue: TWO_RESEARCH },
          { configurable: { thread_id: "unmonitored", model: "offline", review: "never", qualityThreshold: 0 } },
        );
      const unmonitored = await pool.query(
        `SELECT status, started_at, seconds FROM "${db.schema}".agent_runs WHERE thread_id = 'unmonitored'`,
      );
      expect(unmonitored.rows).toEqual([
        { status: "success", started_at: null, seconds: null },
        { status: "success", started_at: null, seconds: null },
      ]);
    });
  });

  it("runs an agent of a registered template for a task no built-in template covers", async () => {
    const stats = agentStatsOn(pool, db.schema);
    await stats.registerTemplate(
      parseTemplateFile({
        agentType: "fact_checker",
        capabilities: ["validation"],
        role: "You check facts.",
        memoryMb: 512,
        tokens: 4000,
        parameters: { strictness: "high" },
      }),
    );
    const { state, agents } = await run("registered", [
      { description: "Check the claims of the vendor's datasheet", capabilities: ["validation"] },
    ]);
    expect(statuses(agents)).toEqual([["registered/agent-0", "fact_checker", "completed"]]);
    expect(state.agents["registered/agent-0"]!.specification!.specializationParameters).toMatchObject({
      strictness: "high",
      iteration_limit: 3,
    });
  });
});
