import { describe, expect, it } from "vitest";
import {
  applyRecommendations,
  diffDefinitions,
  shapeOfDefinition,
} from "../nodes/enterprise_workflow/optimizer/apply.js";
import {
  ancestors,
  identifyBottlenecks,
  optimize,
  parallelizationRecommendations,
  type RunObservation,
  type StepFigures,
  type WorkflowShape,
} from "../metrics/optimizer_analysis.js";
import { checkDefinition } from "../state/enterprise_workflow/loader.js";

const s = 1000;
const steps = (means: number[], stdDev = 0) =>
  means.map((mean, i) => ({ stepId: `s${i + 1}`, meanMs: mean * s, stdDevMs: stdDev * s }));

describe("bottlenecks", () => {
  it("step means [1, 1, 1, 1, 10] s flag only the 10 s step", () => {
    expect(identifyBottlenecks(steps([1, 1, 1, 1, 10])).map((b) => [b.stepId, b.reasons])).toEqual([["s5", ["slow"]]]);
  });
  it("[1, 10] s flag nothing", () => {
    expect(identifyBottlenecks(steps([1, 10]))).toEqual([]);
  });
  it("one step flags nothing and does not crash; no history neither", () => {
    expect(identifyBottlenecks(steps([3]))).toEqual([]);
    expect(identifyBottlenecks([])).toEqual([]);
    expect(optimize({ name: "empty", steps: [] }, [], [])).toEqual({
      workflow: "empty",
      runs: 0,
      bottlenecks: [],
      recommendations: [],
    });
  });
  it("a step with mean 2 s and σ 1.5 s is flagged by the σ rule, in any unit", () => {
    const flagged = identifyBottlenecks([{ stepId: "erratic", meanMs: 2 * s, stdDevMs: 1.5 * s }, ...steps([2, 2, 2])]);
    expect(flagged.map((b) => [b.stepId, b.reasons])).toEqual([["erratic", ["variable"]]]);
    expect(identifyBottlenecks([{ stepId: "erratic", meanMs: 2, stdDevMs: 1.5 }]).map((b) => b.stepId)).toEqual([
      "erratic",
    ]);
    // σ 0.5 s on a 2 s mean is steady in seconds and in milliseconds alike (σ² would flag it in ms).
    expect(identifyBottlenecks([{ stepId: "steady", meanMs: 2 * s, stdDevMs: 0.5 * s }])).toEqual([]);
  });
  it("leaves out steps too short to matter, however jittery", () => {
    expect(identifyBottlenecks([{ stepId: "tiny", meanMs: 0.3, stdDevMs: 0.5 }, ...steps([1, 1, 1])])).toEqual([]);
  });
  it("sorts by severity", () => {
    const flagged = identifyBottlenecks([
      ...steps([1, 1, 1, 1, 1, 1, 20, 10]),
      { stepId: "wild", meanMs: 1 * s, stdDevMs: 5 * s },
    ]);
    expect(flagged.map((b) => b.stepId)).toEqual(["wild", "s7"]);
  });
});

const figure = (stepId: string, meanMs: number): StepFigures => ({
  stepId,
  count: 4,
  meanMs,
  p95Ms: meanMs,
  stdDevMs: 0,
  timeouts: 0,
});

/** Runs in which the given steps ran end to end, in order, each for its mean. */
function serialRuns(order: string[], means: Record<string, number>, count = 4): RunObservation[] {
  return Array.from({ length: count }, () => {
    let t = 0;
    const timings: RunObservation["steps"] = {};
    for (const id of order) {
      timings[id] = { startedAt: t, finishedAt: t + means[id]! };
      t += means[id]!;
    }
    return { wallMs: t, steps: timings };
  });
}

describe("parallelization", () => {
  it("never groups steps on one dependency path", () => {
    // a → b → c is a chain; d and e are independent of it and of each other, all slow.
    const shape: WorkflowShape = {
      name: "mixed",
      maxParallelSteps: 1,
      steps: [
        { stepId: "a", dependencies: [], groupable: true },
        { stepId: "b", dependencies: ["a"], groupable: true },
        { stepId: "c", dependencies: ["b"], groupable: true },
        { stepId: "d", dependencies: [], groupable: true },
        { stepId: "e", dependencies: [], groupable: true },
      ],
    };
    const means = { a: 900, b: 800, c: 700, d: 600, e: 500 };
    const figures = Object.entries(means).map(([id, mean]) => figure(id, mean));
    const recs = parallelizationRecommendations(shape, figures, [], serialRuns(["a", "b", "c", "d", "e"], means));
    expect(recs.length).toBeGreaterThan(0);
    const above = ancestors(shape);
    for (const rec of recs) {
      const change = rec.specificChanges.find((c) => c.action === "create_parallel_container");
      if (change?.action !== "create_parallel_container") throw new Error("no container");
      for (const x of change.steps) for (const y of change.steps) if (x !== y) expect(above.get(x)!.has(y)).toBe(false);
    }
    expect(recs[0]!.specificChanges[0]).toMatchObject({ steps: ["a", "d", "e"], maxConcurrent: 3 });
  });

  it("computes the improvement from the critical path, and leaves steps that already overlapped alone", () => {
    const shape: WorkflowShape = {
      name: "three",
      maxParallelSteps: 1,
      steps: ["x", "y", "z"].map((stepId) => ({ stepId, dependencies: [], groupable: true })),
    };
    const means = { x: 200, y: 200, z: 200 };
    const figures = Object.entries(means).map(([id, mean]) => figure(id, mean));
    const [rec] = parallelizationRecommendations(shape, figures, [], serialRuns(["x", "y", "z"], means));
    expect(rec!.expectedImprovement).toBeCloseTo(66.7, 1);
    expect(rec!.specificChanges).toContainEqual({ action: "set_max_parallel_steps", from: 1, to: 3 });
    const overlapping: RunObservation[] = [
      {
        wallMs: 200,
        steps: {
          x: { startedAt: 0, finishedAt: 200 },
          y: { startedAt: 0, finishedAt: 200 },
          z: { startedAt: 0, finishedAt: 200 },
        },
      },
    ];
    expect(parallelizationRecommendations(shape, figures, [], overlapping)).toEqual([]);
  });
});

describe("applying and diffing", () => {
  const definition = checkDefinition({
    name: "fetches",
    maxParallelSteps: 1,
    steps: [
      { stepId: "a", stepType: "sequential", action: { llm: "a" } },
      { stepId: "b", stepType: "sequential", action: { llm: "b" } },
      { stepId: "c", stepType: "sequential", action: { llm: "c" } },
      { stepId: "report", stepType: "sequential", action: { set: { done: "true" } }, dependencies: ["a", "c"] },
    ],
  });

  it("puts the group in a parallel step that its dependents wait for, and the diff shows it", () => {
    const means = { a: 200, b: 200, c: 200, report: 5 };
    const report = optimize(
      shapeOfDefinition(definition),
      Object.entries(means).map(([id, m]) => figure(id, m)),
      serialRuns(["a", "b", "c", "report"], means),
    );
    const parallel = report.recommendations.filter((r) => r.type === "parallelization");
    expect(parallel).toHaveLength(1);
    const applied = applyRecommendations(definition, parallel);
    expect(applied.maxParallelSteps).toBe(3);
    expect(applied.steps.map((step) => step.stepId)).toEqual(["parallel_a_b_c", "report"]);
    expect(applied.steps[0]!.parallelSteps.map((step) => step.stepId)).toEqual(["a", "b", "c"]);
    expect(applied.steps[1]!.dependencies).toEqual(["parallel_a_b_c"]);
    const paths = diffDefinitions(definition, applied).map((change) => change.path);
    expect(paths).toContain("maxParallelSteps");
    expect(paths).toContain("steps.parallel_a_b_c");
    expect(paths).toContain("steps.a");
  });
});

describe("caching and resource rules", () => {
  const shape: WorkflowShape = {
    name: "w",
    steps: [{ stepId: "lookup", dependencies: [], groupable: true, timeoutSeconds: 2 }],
  };
  const runsWith = (outputs: string[]): RunObservation[] =>
    outputs.map((outputKey) => ({
      wallMs: 1000,
      steps: { lookup: { startedAt: 0, finishedAt: 500, inputKey: "same", outputKey } },
    }));

  it("recommend LangGraph's cachePolicy for a step that repeats its input and answers it the same", () => {
    const [rec] = optimize(shape, [figure("lookup", 500)], runsWith(["a", "a", "a", "a"])).recommendations.filter(
      (r) => r.type === "caching",
    );
    expect(rec).toMatchObject({
      priority: 8,
      specificChanges: [{ action: "set_cache_policy", step: "lookup", repeatedInputs: 3 }],
    });
    expect(
      optimize(shape, [figure("lookup", 500)], runsWith(["a", "b", "a", "a"])).recommendations.filter(
        (r) => r.type === "caching",
      ),
    ).toEqual([]);
  });

  it("give a step that timed out, or nearly, twice its p95", () => {
    const near = { ...figure("lookup", 1500), p95Ms: 1900 };
    const [rec] = optimize(shape, [near], []).recommendations;
    expect(rec).toMatchObject({
      type: "resource",
      priority: 7,
      specificChanges: [{ action: "set_timeout", step: "lookup", fromSeconds: 2, toSeconds: 4 }],
    });
    expect(optimize(shape, [figure("lookup", 500)], []).recommendations).toEqual([]);
  });
});
