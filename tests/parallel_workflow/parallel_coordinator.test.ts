import { describe, expect, it } from "vitest";
import { Command, START, Send, StateGraph } from "@langchain/langgraph";
import {
  PARALLEL_COORDINATOR_ENDS,
  parallelCoordinator,
  pendingBranches,
  planWave,
} from "../../nodes/parallel_workflow/parallel_coordinator.js";
import {
  BRANCH_NODES,
  WorkflowState,
  branchNodeFor,
  type BranchAllocation,
  type BranchInput,
  type BranchNodeName,
  type WorkflowStateType,
} from "../../state/parallel_workflow/workflow.js";
import { allocation, byId, makeState, result, SETTINGS } from "../support/fixtures.js";

describe("the Send mapping (branchNodeFor)", () => {
  const cases: [string, Partial<BranchAllocation>, BranchNodeName][] = [
    ["research, technical focus", { type: "research", focus: "technical" }, "research_branch_alpha"],
    ["research, market focus", { type: "research", focus: "market" }, "research_branch_beta"],
    ["research, competitive focus", { type: "research", focus: "competitive" }, "research_branch_gamma"],
    ["research, no focus", { type: "research", focus: undefined }, "research_branch_gamma"],
    ["analysis, high priority", { type: "analysis", focus: undefined, priority: "high" }, "analysis_branch_primary"],
    [
      "analysis, normal priority",
      { type: "analysis", focus: undefined, priority: "normal" },
      "analysis_branch_secondary",
    ],
  ];
  for (const [name, overrides, node] of cases) {
    it(`${name} → ${node}`, () => {
      expect(branchNodeFor(allocation("b", 0, overrides))).toBe(node);
    });
  }

  it("a node assigned by load_balancer overrides the mapping", () => {
    expect(branchNodeFor(allocation("b", 0, { focus: "technical", assignedNode: "research_branch_beta" }))).toBe(
      "research_branch_beta",
    );
    expect(
      branchNodeFor(
        allocation("b", 0, { type: "analysis", priority: "high", assignedNode: "analysis_branch_secondary" }),
      ),
    ).toBe("analysis_branch_secondary");
  });

  it("the coordinator declares every branch node as a destination", () => {
    expect([...PARALLEL_COORDINATOR_ENDS].sort()).toEqual([...BRANCH_NODES].sort());
  });
});

/** Five branches, stored out of plan order so sorting by `order` is observable. */
function fiveBranches(): Record<string, BranchAllocation> {
  return byId(allocation("b5", 4), allocation("b3", 2), allocation("b1", 0), allocation("b4", 3), allocation("b2", 1));
}

const ids = (wave: BranchAllocation[]) => wave.map((a) => a.branchId);

describe("pendingBranches", () => {
  it("lists the branches without a result for their current attempt, in plan order", () => {
    const state = {
      activeBranches: fiveBranches(),
      completedBranches: byId(result("b2"), result("b4", { status: "failed" })),
    };
    expect(ids(pendingBranches(state))).toEqual(["b1", "b3", "b5"]);
  });
});

describe("planWave: the wave limit", () => {
  const base = (overrides: Partial<WorkflowStateType> = {}) =>
    makeState({
      activeBranches: fiveBranches(),
      workflowMode: "parallel",
      waveWidth: 3,
      ...overrides,
    });

  it("returns at most the allocated number of pending branches, in plan order", () => {
    expect(ids(planWave(base()))).toEqual(["b1", "b2", "b3"]);
  });

  it("the next wave takes the branches the first one left", () => {
    const state = base({ completedBranches: byId(result("b1"), result("b2"), result("b3", { status: "failed" })) });
    expect(ids(planWave(state))).toEqual(["b4", "b5"]);
  });

  it("allocates all five at once when five are allowed", () => {
    expect(ids(planWave(base({ waveWidth: 5 })))).toEqual(["b1", "b2", "b3", "b4", "b5"]);
  });

  it("sequential mode is a wave of one, whatever the allocation says", () => {
    expect(ids(planWave(base({ workflowMode: "sequential", waveWidth: 5 })))).toEqual(["b1"]);
  });

  it("without an allocation it dispatches one at a time", () => {
    expect(ids(planWave(makeState({ activeBranches: fiveBranches() })))).toEqual(["b1"]);
  });

  it("never returns a branch whose current attempt succeeded", () => {
    const state = base({
      waveWidth: 5,
      completedBranches: byId(result("b1"), result("b3"), result("b5")),
    });
    expect(ids(planWave(state))).toEqual(["b2", "b4"]);
  });

  it("nothing is left once every branch has a result", () => {
    const state = base({
      completedBranches: byId(
        result("b1"),
        result("b2"),
        result("b3"),
        result("b4"),
        result("b5", { status: "failed" }),
      ),
    });
    expect(planWave(state)).toEqual([]);
  });

  it("returns a re-queued branch: its attempt was bumped past its result", () => {
    const active = fiveBranches();
    active.b3 = { ...active.b3!, attempt: 2, backoffMs: 250 };
    const state = base({
      activeBranches: active,
      completedBranches: byId(
        result("b1"),
        result("b2"),
        result("b3", { status: "failed", attempt: 1 }),
        result("b4"),
        result("b5"),
      ),
    });
    const wave = planWave(state);
    expect(ids(wave)).toEqual(["b3"]);
    expect(wave[0]!.attempt).toBe(2);
  });

  it("respects dependencies: a branch waits until every branch it depends on has a result", () => {
    const dependencies = { b1: [], b2: ["b1"], b3: ["b1", "b2"], b4: [], b5: ["b4"] };
    const state = base({ branchDependencies: dependencies, waveWidth: 5 });
    expect(ids(planWave(state))).toEqual(["b1", "b4"]);
    const later = base({
      branchDependencies: dependencies,
      waveWidth: 5,
      completedBranches: byId(result("b1", { status: "failed" }), result("b4")),
    });
    // b1 failed but has a result: b2 may build on it; b3 still waits for b2
    expect(ids(planWave(later))).toEqual(["b2", "b5"]);
  });

  it("a dependency that was re-queued holds back its dependants again", () => {
    const active = fiveBranches();
    active.b1 = { ...active.b1!, attempt: 2 };
    const state = base({
      activeBranches: active,
      workflowMode: "sequential",
      branchDependencies: {
        b1: [],
        b2: ["b1"],
        b3: ["b1", "b2"],
        b4: ["b1", "b2", "b3"],
        b5: ["b1", "b2", "b3", "b4"],
      },
      completedBranches: byId(result("b1", { status: "failed" })),
    });
    expect(ids(planWave(state))).toEqual(["b1"]);
  });
});

describe("parallelCoordinator", () => {
  function mixedState(overrides: Partial<WorkflowStateType> = {}) {
    return makeState({
      activeBranches: byId(
        allocation("t", 0, { focus: "technical" }),
        allocation("m", 1, { focus: "market" }),
        allocation("c", 2, { focus: "competitive" }),
        allocation("h", 3, {
          type: "analysis",
          focus: undefined,
          analysisType: "risk",
          priority: "high",
          dataSources: ["db"],
        }),
        allocation("n", 4, { type: "analysis", focus: undefined, analysisType: "trend", priority: "normal" }),
      ),
      waveWidth: 5,
      settings: { ...SETTINGS, model: "openai:gpt-test" },
      ...overrides,
    });
  }

  it("returns a Command whose goto are Sends to the mapped nodes, with the branch payload", async () => {
    const state = mixedState();
    const command = await parallelCoordinator(state);
    expect(command).toBeInstanceOf(Command);
    const sends = command.goto as Send[];
    expect(sends).toHaveLength(5);
    for (const send of sends) expect(send).toBeInstanceOf(Send);
    expect(sends.map((s) => [s.node, (s.args as BranchInput).branchId])).toEqual([
      ["research_branch_alpha", "t"],
      ["research_branch_beta", "m"],
      ["research_branch_gamma", "c"],
      ["analysis_branch_primary", "h"],
      ["analysis_branch_secondary", "n"],
    ]);
    const primary = sends[3]!.args as BranchInput;
    expect(primary).toEqual({
      branchId: "h",
      model: "openai:gpt-test",
      allocation: state.activeBranches.h,
      taskQueue: state.taskQueue,
      priorResults: [],
    });
  });

  it("sends a branch its own task only, or the whole queue when the plan names none that exists", async () => {
    const queue = [{ description: "first task" }, { description: "second task" }, { description: "third task" }];
    const state = makeState({
      taskQueue: queue,
      activeBranches: byId(
        allocation("own", 0, { task: 2 }),
        allocation("none", 1),
        allocation("invented", 2, { task: 9 }),
      ),
      waveWidth: 3,
    });
    const command = await parallelCoordinator(state);
    const sent = Object.fromEntries(
      (command.goto as Send[]).map((s) => [(s.args as BranchInput).branchId, (s.args as BranchInput).taskQueue]),
    );
    expect(sent).toEqual({ own: [queue[1]], none: queue, invented: queue });
  });

  it("sends only the wave: three of five when three are allocated", async () => {
    const command = await parallelCoordinator(mixedState({ waveWidth: 3 }));
    expect((command.goto as Send[]).map((s) => s.node)).toEqual([
      "research_branch_alpha",
      "research_branch_beta",
      "research_branch_gamma",
    ]);
  });

  it("sends a reassigned branch to its assigned node", async () => {
    const state = mixedState({
      activeBranches: byId(
        allocation("t", 0, { focus: "technical", attempt: 3, assignedNode: "research_branch_beta" }),
      ),
    });
    const [send] = (await parallelCoordinator(state)).goto as Send[];
    expect(send!.node).toBe("research_branch_beta");
    expect((send!.args as BranchInput).allocation.attempt).toBe(3);
  });

  it("counts waves and records what it dispatched in the timeline", async () => {
    const command = await parallelCoordinator(
      mixedState({ wavesDispatched: 2, checkpointData: { waves: 2 }, waveWidth: 2 }),
    );
    const update = command.update as Partial<WorkflowStateType>;
    expect(update.checkpointData).toEqual({ waves: 3 });
    expect(update.executionTimeline).toHaveLength(1);
    expect(update.executionTimeline![0]).toMatchObject({
      event: "wave_dispatched",
      node: "parallel_coordinator",
      wave: 3,
      branches: [
        { branchId: "t", node: "research_branch_alpha", attempt: 1 },
        { branchId: "m", node: "research_branch_beta", attempt: 1 },
      ],
    });
  });

  it("in sequential mode hands a branch the successful results before it", async () => {
    const state = makeState({
      workflowMode: "sequential",
      activeBranches: byId(allocation("a", 0), allocation("b", 1), allocation("c", 2)),
      branchDependencies: { a: [], b: ["a"], c: ["a", "b"] },
      completedBranches: byId(result("a"), result("b", { status: "failed" })),
      waveWidth: 1,
    });
    const [send] = (await parallelCoordinator(state)).goto as Send[];
    expect((send!.args as BranchInput).branchId).toBe("c");
    expect((send!.args as BranchInput).priorResults).toEqual([{ branchId: "a", summary: "summary of a" }]);
  });

  it("throws on an empty wave", async () => {
    const state = makeState({
      activeBranches: byId(allocation("a", 0)),
      completedBranches: byId(result("a")),
      waveWidth: 3,
    });
    await expect(parallelCoordinator(state)).rejects.toThrow(/no branch is ready/);
  });

  it("fans out in a real graph: each Send reaches its node with its payload, and every result is kept", async () => {
    const received: [string, string][] = [];
    const stub = (node: BranchNodeName) => async (input: BranchInput) => {
      received.push([node, input.branchId]);
      return {
        completedBranches: { [input.branchId]: result(input.branchId, { node, attempt: input.allocation.attempt }) },
      };
    };
    let graph = new StateGraph(WorkflowState).addNode("parallel_coordinator", parallelCoordinator, {
      ends: PARALLEL_COORDINATOR_ENDS,
    });
    for (const node of BRANCH_NODES) graph = graph.addNode(node, stub(node)) as unknown as typeof graph;
    const compiled = graph.addEdge(START, "parallel_coordinator").compile();
    for (const node of BRANCH_NODES) expect(compiled.nodes[node]).toBeDefined();

    const input = mixedState();
    const final = await compiled.invoke({
      activeBranches: input.activeBranches,
      waveWidth: input.waveWidth,
      settings: input.settings,
      taskQueue: input.taskQueue,
      workflowMode: "parallel",
    });
    expect(received.sort()).toEqual([
      ["analysis_branch_primary", "h"],
      ["analysis_branch_secondary", "n"],
      ["research_branch_alpha", "t"],
      ["research_branch_beta", "m"],
      ["research_branch_gamma", "c"],
    ]);
    expect(Object.keys(final.completedBranches).sort()).toEqual(["c", "h", "m", "n", "t"]);
    expect(final.checkpointData).toEqual({ waves: 1 });
  });
});
