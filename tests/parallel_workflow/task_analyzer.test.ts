import { beforeEach, describe, expect, it, vi } from "vitest";
import type { BaseMessage } from "@langchain/core/messages";

// taskAnalyzer asks the model for its analysis and the OS for CPU headroom: both are
// scripted here, so the node's own rules decide the outcome.
const fake = vi.hoisted(() => ({
  cores: 4,
  load: 0,
  calls: [] as string[],
  analysis: undefined as unknown,
}));
vi.mock("node:os", async (importOriginal) => {
  const os = await importOriginal<typeof import("node:os")>();
  const patched = { ...os, availableParallelism: () => fake.cores, loadavg: () => [fake.load, fake.load, fake.load] };
  return { ...patched, default: patched };
});
vi.mock("../../models/index.js", () => ({
  parseModelSpec: () => ({ provider: "offline" }),
  defaultModelSpec: () => "offline",
  createChatModel: () => ({
    withStructuredOutput: () => ({
      invoke: async (messages: BaseMessage[]) => {
        fake.calls.push(String(messages[messages.length - 1]!.content));
        return fake.analysis;
      },
    }),
  }),
}));

import {
  SYNC_POINT,
  assessResourceAvailability,
  chooseWorkflowMode,
  createBranchAllocation,
  taskAnalyzer,
} from "../../nodes/parallel_workflow/task_analyzer.js";
import { InputError } from "../../state/shared/errors.js";
import type { PlannedBranch, TaskAnalysis } from "../../state/parallel_workflow/outputs.js";
import type { WorkflowStateType } from "../../state/parallel_workflow/workflow.js";
import { makeState, plain, SETTINGS } from "../support/fixtures.js";

const roomy = (cpu: number, maxConcurrent = 10) => ({ cpu, maxConcurrent });

describe("chooseWorkflowMode: the documents' thresholds", () => {
  it("complexity > 0.8 and cpu > 0.7 → parallel with as many branches as the concurrency limit", () => {
    expect(chooseWorkflowMode(0.81, 0.2, roomy(0.71, 5))).toEqual({ mode: "parallel", maxBranches: 5 });
    expect(chooseWorkflowMode(0.95, 0.2, roomy(0.9, 100))).toEqual({ mode: "parallel", maxBranches: 100 });
    expect(chooseWorkflowMode(0.95, 0.2, roomy(0.9, 1))).toEqual({ mode: "parallel", maxBranches: 1 });
  });

  it("complexity exactly 0.8 is not parallel", () => {
    expect(chooseWorkflowMode(0.8, 0.2, roomy(0.95))).toEqual({ mode: "adaptive", maxBranches: 3 });
  });

  it("cpu exactly 0.7 is not parallel", () => {
    expect(chooseWorkflowMode(0.95, 0.2, roomy(0.7))).toEqual({ mode: "adaptive", maxBranches: 3 });
  });

  it("parallel is checked before sequential: high complexity with free CPU wins over interdependency", () => {
    expect(chooseWorkflowMode(0.9, 0.9, roomy(0.9))).toEqual({ mode: "parallel", maxBranches: 10 });
  });

  it("otherwise interdependency > 0.6 → sequential with 1 branch", () => {
    expect(chooseWorkflowMode(0.5, 0.61, roomy(0.9))).toEqual({ mode: "sequential", maxBranches: 1 });
    // complex but the CPU is busy: falls through to the interdependency rule
    expect(chooseWorkflowMode(0.95, 0.9, roomy(0.3))).toEqual({ mode: "sequential", maxBranches: 1 });
  });

  it("interdependency exactly 0.6 is not sequential", () => {
    expect(chooseWorkflowMode(0.5, 0.6, roomy(0.9))).toEqual({ mode: "adaptive", maxBranches: 3 });
  });

  it("otherwise adaptive with 3 branches, capped by the concurrency limit", () => {
    expect(chooseWorkflowMode(0.1, 0.1, roomy(0.1, 10))).toEqual({ mode: "adaptive", maxBranches: 3 });
    // min(3, 2) = 2
    expect(chooseWorkflowMode(0.1, 0.1, roomy(0.1, 2))).toEqual({ mode: "adaptive", maxBranches: 2 });
  });
});

describe("assessResourceAvailability", () => {
  beforeEach(() => {
    fake.cores = 4;
  });

  it("reports the CPU headroom over the last minute and the configured concurrency", () => {
    // load 1 on 4 cores: 1 - 1/4 = 0.75 free
    fake.load = 1;
    expect(assessResourceAvailability({ maxConcurrency: 7 })).toEqual({ cpu: 0.75, maxConcurrent: 7 });
  });

  it("keeps the headroom within 0..1", () => {
    fake.load = 12; // 3× overloaded
    expect(assessResourceAvailability({ maxConcurrency: 5 }).cpu).toBe(0);
    fake.load = 0;
    expect(assessResourceAvailability({ maxConcurrency: 5 }).cpu).toBe(1);
  });
});

describe("createBranchAllocation", () => {
  const plan: PlannedBranch[] = [
    { type: "research", objective: "How does it work?", focus: "technical" },
    { type: "research", objective: "Who else does it?" }, // no focus: competitive
    {
      type: "analysis",
      objective: "What could go wrong?",
      analysisType: "risk",
      priority: "high",
      dataSources: ["incident reports"],
    },
    { type: "analysis", objective: "Is it worth it?" }, // no priority: normal, no type: general
  ];
  const ids = ["b1-research-technical", "b2-research-competitive", "b3-analysis-high", "b4-analysis-normal"];

  it("names each branch by position, type and focus or priority", () => {
    const { activeBranches } = createBranchAllocation(plan, 3, "adaptive", { branchTimeoutMs: 4321 }, roomy(0.9));
    expect(Object.keys(activeBranches)).toEqual(ids);
    expect(Object.values(activeBranches).map((a) => a.branchId)).toEqual(ids);
    expect(Object.values(activeBranches).map((a) => a.order)).toEqual([0, 1, 2, 3]);
  });

  it("starts every branch at attempt 1, full scope, no backoff, with the timeout from the settings", () => {
    const { activeBranches } = createBranchAllocation(plan, 3, "adaptive", { branchTimeoutMs: 4321 }, roomy(0.9));
    for (const allocation of Object.values(activeBranches)) {
      expect(allocation.attempt).toBe(1);
      expect(allocation.scope).toBe("full");
      expect(allocation.backoffMs).toBe(0);
      expect(allocation.assignedNode).toBeUndefined();
      // cpu 0.9 shared over 3 branches at a time = 0.3
      expect(allocation.resources).toEqual({ cpuShare: 0.3, timeoutMs: 4321, maxFindings: 4 });
    }
  });

  it("carries focus to research branches and analysis type, priority and data sources to analysis branches", () => {
    const { activeBranches } = createBranchAllocation(plan, 3, "adaptive", { branchTimeoutMs: 1000 }, roomy(0.9));
    expect(activeBranches["b1-research-technical"]).toMatchObject({
      type: "research",
      focus: "technical",
      priority: "normal",
      dataSources: [],
    });
    expect(activeBranches["b2-research-competitive"]).toMatchObject({ type: "research", focus: "competitive" });
    expect(activeBranches["b3-analysis-high"]).toMatchObject({
      type: "analysis",
      analysisType: "risk",
      priority: "high",
      dataSources: ["incident reports"],
      objective: "What could go wrong?",
    });
    expect(activeBranches["b3-analysis-high"]!.focus).toBeUndefined();
    expect(activeBranches["b4-analysis-normal"]).toMatchObject({
      analysisType: "general",
      priority: "normal",
      dataSources: [],
    });
  });

  it("keeps the task a branch is planned for, and names none when the plan does not", () => {
    const planned: PlannedBranch[] = [{ ...plan[0]!, task: 2 }, plan[1]!];
    const { activeBranches } = createBranchAllocation(planned, 2, "parallel", { branchTimeoutMs: 1000 }, roomy(0.9));
    expect(activeBranches["b1-research-technical"]!.task).toBe(2);
    expect(activeBranches["b2-research-competitive"]).not.toHaveProperty("task");
  });

  it("chains dependencies in sequential mode: each branch depends on every branch before it", () => {
    const { branchDependencies } = createBranchAllocation(plan, 1, "sequential", { branchTimeoutMs: 1000 }, roomy(0.5));
    expect(branchDependencies).toEqual({
      [ids[0]!]: [],
      [ids[1]!]: [ids[0]],
      [ids[2]!]: [ids[0], ids[1]],
      [ids[3]!]: [ids[0], ids[1], ids[2]],
    });
  });

  it("has no dependencies in parallel or adaptive mode", () => {
    for (const mode of ["parallel", "adaptive"] as const) {
      const { branchDependencies } = createBranchAllocation(plan, 5, mode, { branchTimeoutMs: 1000 }, roomy(0.9));
      expect(Object.values(branchDependencies)).toEqual([[], [], [], []]);
    }
  });

  it("writes one sync point that requires every branch", () => {
    const { syncPoints } = createBranchAllocation(plan, 5, "parallel", { branchTimeoutMs: 1000 }, roomy(0.9));
    expect(syncPoints).toEqual({ [SYNC_POINT]: ids });
  });

  it("shares the CPU headroom over the branches that run at once", () => {
    // 0.75 / 5 = 0.15 ; 0.5 / 1 = 0.5
    expect(
      createBranchAllocation(plan, 5, "parallel", { branchTimeoutMs: 1000 }, roomy(0.75)).activeBranches[ids[0]!]!
        .resources.cpuShare,
    ).toBe(0.15);
    expect(
      createBranchAllocation(plan, 1, "sequential", { branchTimeoutMs: 1000 }, roomy(0.5)).activeBranches[ids[0]!]!
        .resources.cpuShare,
    ).toBe(0.5);
  });
});

describe("taskAnalyzer", () => {
  const plan: PlannedBranch[] = [
    { type: "research", objective: "tech", focus: "technical" },
    { type: "research", objective: "market", focus: "market" },
    { type: "research", objective: "rivals", focus: "competitive" },
    { type: "analysis", objective: "risk", analysisType: "risk", priority: "high", dataSources: ["incidents"] },
    { type: "analysis", objective: "cost", analysisType: "cost-benefit", priority: "normal" },
  ];
  const analysis = (overrides: Partial<TaskAnalysis> = {}): TaskAnalysis => ({
    complexityScore: 0.9,
    interdependencyScore: 0.2,
    rationale: "five angles",
    branchPlan: plan,
    ...overrides,
  });
  const fresh = (overrides: Partial<WorkflowStateType> = {}) =>
    makeState({
      taskQueue: [],
      task: "Evaluate vector databases",
      settings: undefined,
      workflowMode: undefined,
      ...overrides,
    });

  beforeEach(() => {
    fake.cores = 4;
    fake.load = 0;
    fake.calls.length = 0;
    fake.analysis = analysis();
  });

  it("complex work on an idle machine runs in parallel, min(5, maxConcurrency) at a time", async () => {
    const update = await plain(
      taskAnalyzer(fresh(), { configurable: { thread_id: "thread-7", review: "never", maxConcurrency: 4 } }),
    );
    expect(update.workflowMode).toBe("parallel");
    expect(update.taskQueue).toEqual([{ description: "Evaluate vector databases" }]);
    expect(update.workflowId).toBe("thread-7");
    expect(update.settings).toMatchObject({ review: "never", maxConcurrency: 4, qualityThreshold: 0.8 });
    expect(Object.keys(update.activeBranches!)).toEqual([
      "b1-research-technical",
      "b2-research-market",
      "b3-research-competitive",
      "b4-analysis-high",
      "b5-analysis-normal",
    ]);
    expect(update.syncPoints).toEqual({ [SYNC_POINT]: Object.keys(update.activeBranches!) });
    // cpu headroom 1 - 0/4 = 1; min(5, 4) = 4
    expect(update.loadBalancingMetrics).toEqual({
      complexityScore: 0.9,
      interdependencyScore: 0.2,
      resourceUtilization: 0,
      cpuHeadroom: 1,
      allocatedBranches: 4,
      plannedBranches: 5,
    });
    expect(update.executionTimeline).toEqual([
      expect.objectContaining({
        event: "task_analysis_completed",
        node: "task_analyzer",
        workflowMode: "parallel",
        branchesAllocated: 4,
      }),
    ]);
    expect(fake.calls).toHaveLength(1);
    expect(fake.calls[0]).toContain("Evaluate vector databases");
  });

  it("the same work on a busy machine is adaptive, 3 at a time", async () => {
    fake.load = 2; // 1 - 2/4 = 0.5 headroom, not > 0.7
    const update = await plain(taskAnalyzer(fresh(), {}));
    expect(update.workflowMode).toBe("adaptive");
    expect(update.loadBalancingMetrics).toMatchObject({ cpuHeadroom: 0.5, allocatedBranches: 3 });
  });

  it("interdependent work is sequential, with each branch depending on those before it", async () => {
    fake.analysis = analysis({ complexityScore: 0.5, interdependencyScore: 0.8 });
    const update = await plain(taskAnalyzer(fresh(), {}));
    expect(update.workflowMode).toBe("sequential");
    expect(update.loadBalancingMetrics).toMatchObject({ allocatedBranches: 1 });
    expect(update.branchDependencies!["b3-research-competitive"]).toEqual([
      "b1-research-technical",
      "b2-research-market",
    ]);
  });

  it("complexity stated on every task outranks the model's estimate", async () => {
    // stated (0.5 + 0.7) / 2 = 0.6 ≤ 0.8: not parallel, though the model said 0.9
    const update = await plain(
      taskAnalyzer(
        fresh({
          task: undefined,
          taskQueue: [
            { description: "a", complexity: 0.5 },
            { description: "b", complexity: 0.7 },
          ],
        }),
        {},
      ),
    );
    expect(update.loadBalancingMetrics!.complexityScore).toBeCloseTo(0.6, 12);
    expect(update.workflowMode).toBe("adaptive");
  });

  it("keeps the settings the thread started with over the process's configuration", async () => {
    const update = await plain(
      taskAnalyzer(fresh({ settings: { ...SETTINGS, maxConcurrency: 2 } }), { configurable: { maxConcurrency: 9 } }),
    );
    expect(update.settings!.maxConcurrency).toBe(2);
    // min(5, 2) = 2
    expect(update.loadBalancingMetrics!.allocatedBranches).toBe(2);
  });

  it("rejects bad input before asking the model", async () => {
    await expect(taskAnalyzer(fresh({ task: "" }), {})).rejects.toThrow(InputError);
    await expect(taskAnalyzer(fresh({ task: undefined }), {})).rejects.toThrow(InputError);
    expect(fake.calls).toHaveLength(0);
  });

  it("rejects an input that gives both task and taskQueue, as parseWorkflowInput does", async () => {
    const both = fresh({ task: "one thing", taskQueue: [{ description: "another thing" }] });
    await expect(taskAnalyzer(both, {})).rejects.toThrow(/exactly one of 'task' or 'taskQueue'/);
    expect(fake.calls).toHaveLength(0);
  });
});
