import { describe, expect, it } from "vitest";
import { BinaryOperatorAggregate, END, START, StateGraph } from "@langchain/langgraph";
import { AIMessage, HumanMessage } from "@langchain/core/messages";
import {
  WorkflowState,
  currentResult,
  settingsOf,
  type TimelineEvent,
} from "../../state/parallel_workflow/workflow.js";
import { allocation, byId, result, SETTINGS } from "../support/fixtures.js";

/** The reducer LangGraph applies to a field: the operator of its BinaryOperatorAggregate channel. */
function reducerOf<K extends keyof typeof WorkflowState.spec>(field: K) {
  const channel = WorkflowState.spec[field] as unknown;
  expect(channel).toBeInstanceOf(BinaryOperatorAggregate);
  return (channel as BinaryOperatorAggregate<unknown, unknown>).operator as (current: any, update: any) => any;
}

// The reducer keeps events whatever their kind: these stand-ins carry only a name to order by.
const event = (name: string) =>
  ({ at: "2025-01-01T00:00:00.000Z", event: name, node: "test" }) as unknown as TimelineEvent;

describe("WorkflowState reducers", () => {
  it("merges active branches by id: two parallel updates are both kept", () => {
    const merge = reducerOf("activeBranches");
    const a = allocation("a", 0);
    const b = allocation("b", 1);
    expect(merge(merge({}, { a }), { b })).toEqual({ a, b });
  });

  it("an update of one branch replaces that branch only", () => {
    const merge = reducerOf("activeBranches");
    const a = allocation("a", 0);
    const b = allocation("b", 1);
    const bumped = { ...b, attempt: 2 };
    expect(merge({ a, b }, { b: bumped })).toEqual({ a, b: bumped });
  });

  it("merges completed branches and retry counts by id", () => {
    for (const field of ["completedBranches", "retryCounts"] as const) {
      const merge = reducerOf(field);
      expect(merge({ x: 1, y: 2 }, { y: 3, z: 4 })).toEqual({ x: 1, y: 3, z: 4 });
    }
  });

  it("appends to the execution timeline, one event or several", () => {
    const append = reducerOf("executionTimeline");
    const history = [event("one")];
    expect(append(history, [event("two"), event("three")]).map((e: TimelineEvent) => e.event)).toEqual([
      "one",
      "two",
      "three",
    ]);
    expect(append(history, event("two")).map((e: TimelineEvent) => e.event)).toEqual(["one", "two"]);
    expect(history).toHaveLength(1);
  });

  it("appends review decisions", () => {
    const append = reducerOf("reviewDecisions");
    expect(append([{ action: "approve" }], { action: "reject" })).toEqual([
      { action: "approve" },
      { action: "reject" },
    ]);
  });

  it("replaces scalar fields", () => {
    expect(reducerOf("revisionCount")(1, 2)).toBe(2);
    expect(reducerOf("status")("running", "failed")).toBe("failed");
    expect(reducerOf("syncPoints")({ old: ["a"] }, { pre_merge: ["b"] })).toEqual({ pre_merge: ["b"] });
  });

  it("merges metric dictionaries key by key", () => {
    expect(reducerOf("loadBalancingMetrics")({ allocatedBranches: 3 }, { retriesIssued: 1 })).toEqual({
      allocatedBranches: 3,
      retriesIssued: 1,
    });
  });
});

describe("WorkflowState in a graph", () => {
  function twoBranchGraph() {
    return new StateGraph(WorkflowState)
      .addNode("left", async () => ({
        completedBranches: { left: result("left") },
        executionTimeline: [event("left_done")],
      }))
      .addNode("right", async () => ({
        completedBranches: { right: result("right", { status: "failed" }) },
        executionTimeline: event("right_done"),
      }))
      .addEdge(START, "left")
      .addEdge(START, "right")
      .addEdge("left", END)
      .addEdge("right", END)
      .compile();
  }

  it("keeps both branches when two parallel nodes write different ids in the same step", async () => {
    const final = await twoBranchGraph().invoke({
      completedBranches: { earlier: result("earlier") },
      executionTimeline: [event("start")],
    });
    expect(Object.keys(final.completedBranches).sort()).toEqual(["earlier", "left", "right"]);
    expect(final.completedBranches.right!.status).toBe("failed");
    expect(final.executionTimeline[0]!.event).toBe("start");
    expect(final.executionTimeline.map((e) => e.event).sort()).toEqual(["left_done", "right_done", "start"]);
  });

  it("appends messages through the messages reducer", async () => {
    const graph = new StateGraph(WorkflowState)
      .addNode("speak", async () => ({ messages: [new AIMessage("answer")] }))
      .addEdge(START, "speak")
      .compile();
    const final = await graph.invoke({ messages: [new HumanMessage("question")] });
    expect(final.messages.map((m) => m.content)).toEqual(["question", "answer"]);
  });

  it("starts from the declared defaults", async () => {
    const graph = new StateGraph(WorkflowState)
      .addNode("noop", async () => ({}))
      .addEdge(START, "noop")
      .compile();
    const final = await graph.invoke({ task: "t" });
    expect(final).toMatchObject({
      task: "t",
      taskQueue: [],
      activeBranches: {},
      completedBranches: {},
      executionTimeline: [],
      retryCounts: {},
      revisionCount: 0,
      reviewDecisions: [],
      status: "running",
    });
  });
});

describe("currentResult", () => {
  it("returns the result of the branch's current attempt only", () => {
    const state = {
      activeBranches: byId(allocation("a", 0), allocation("b", 1, { attempt: 2 })),
      completedBranches: byId(result("a"), result("b", { attempt: 1 }), result("stray")),
    };
    expect(currentResult(state, "a")?.branchId).toBe("a");
    expect(currentResult(state, "b")).toBeUndefined();
    // a result without an allocation does not count either
    expect(currentResult(state, "stray")).toBeUndefined();
    expect(currentResult(state, "nothing")).toBeUndefined();
  });
});

describe("settingsOf", () => {
  it("returns the thread's settings, and fails when task_analyzer has not stored them", () => {
    expect(settingsOf({ settings: SETTINGS })).toBe(SETTINGS);
    expect(() => settingsOf({ settings: undefined })).toThrow(/settings are missing/);
  });
});
