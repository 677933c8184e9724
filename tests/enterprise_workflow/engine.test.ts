import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { compileEnterpriseWorkflow } from "../../graphs/enterprise_workflow.js";
import { OfflineChatModel, offlineCallCounts, resetOfflineCallCounts } from "../../models/offline/model.js";
import { FAULTS_ENV, LATENCY_ENV, type FaultPlan } from "../../models/offline/runtime.js";
import { retryDelayBound } from "../../nodes/enterprise_workflow/workers.js";
import { DEFAULT_RETRY_POLICY } from "../../state/enterprise_workflow/definition.js";
import type { EnterpriseState } from "../../state/enterprise_workflow/state.js";
import { createTestSchema, type TestSchema } from "../support/database.js";
import { testEngineServices } from "../support/enterprise.js";

// Each run is a real thread on Postgres, answered by the offline model; faults and latency come
// from the offline model's environment knobs, keyed by step id.

let db: TestSchema;
let workflow: ReturnType<typeof compileEnterpriseWorkflow>;
let threads = 0;
let closeControls: () => Promise<void>;

beforeAll(async () => {
  db = await createTestSchema();
  const { services, close } = await testEngineServices(db);
  closeControls = close;
  workflow = compileEnterpriseWorkflow(db.checkpointer, services);
});
afterAll(async () => {
  await closeControls?.();
  await db?.cleanup();
});
beforeEach(() => resetOfflineCallCounts());
afterEach(() => {
  delete process.env[FAULTS_ENV];
  delete process.env[LATENCY_ENV];
  vi.restoreAllMocks();
});

async function run(
  definition: unknown,
  options: { input?: Record<string, unknown>; faults?: FaultPlan; latencyMs?: number } = {},
) {
  if (options.faults) process.env[FAULTS_ENV] = JSON.stringify(options.faults);
  if (options.latencyMs) process.env[LATENCY_ENV] = String(options.latencyMs);
  const config = { configurable: { thread_id: `engine-${++threads}`, model: "offline" } };
  await workflow.invoke({ definition, input: options.input ?? {} }, config);
  return (await workflow.getState(config)).values as EnterpriseState;
}

const llm = (stepId: string, extra: Record<string, unknown> = {}) => ({
  stepId,
  stepType: "worker",
  action: { llm: `Work on ${stepId}.` },
  ...extra,
});

function fanOut(failing: number, extra: Record<string, unknown> = {}) {
  const children = ["c1", "c2", "c3", "c4"].map((id) => llm(id));
  return {
    definition: {
      name: "fan-out",
      steps: [
        { stepId: "fan", stepType: "parallel", parallelSteps: children, ...extra },
        { ...llm("after"), stepType: "sequential", dependencies: ["fan"] },
      ],
    },
    faults: Object.fromEntries(children.slice(0, failing).map((child) => [child.stepId, { fail: 5 }])),
  };
}

describe("parallel steps", () => {
  it("pass with 2 of 4 children failing, and list each child's result or failure", async () => {
    const { definition, faults } = fanOut(2);
    const state = await run(definition, { faults });
    expect(state.status).toBe("COMPLETED");
    expect(state.steps.fan!.status).toBe("COMPLETED");
    const output = state.intermediateResults.fan as {
      succeeded: number;
      failed: number;
      results: { stepId: string; status: string; error?: string }[];
    };
    expect(output).toMatchObject({ succeeded: 2, failed: 2 });
    expect(output.results.map((r) => [r.stepId, r.status])).toEqual([
      ["c1", "FAILED"],
      ["c2", "FAILED"],
      ["c3", "COMPLETED"],
      ["c4", "COMPLETED"],
    ]);
    expect(output.results[0]!.error).toMatch(/offline fault: c1/);
    expect(state.steps.after!.status).toBe("COMPLETED");
  });

  it("fail with 3 of 4 failing, and so does the workflow", async () => {
    const { definition, faults } = fanOut(3);
    const state = await run(definition, { faults });
    expect(state.steps.fan!.status).toBe("FAILED");
    expect(state.status).toBe("FAILED");
    expect(state.steps.after!.status).toBe("PENDING");
    expect(state.errors.at(-1)!.message).toMatch(/^step 'fan' failed: 1 of 4 children succeeded/);
  });

  it("with continueOnFailure, a failed parallel step lets the workflow go on", async () => {
    const { definition, faults } = fanOut(3, { retryPolicy: { continueOnFailure: true } });
    const state = await run(definition, { faults });
    expect(state.steps.fan!.status).toBe("FAILED");
    expect(state.steps.after!.status).toBe("COMPLETED");
    expect(state.status).toBe("COMPLETED");
  });

  it("succeed with no children: 'no parallel steps'", async () => {
    const state = await run({ name: "empty", steps: [{ stepId: "fan", stepType: "parallel" }] });
    expect(state.status).toBe("COMPLETED");
    expect(state.intermediateResults.fan).toMatchObject({ message: "no parallel steps", total: 0 });
  });

  it("never run more than maxConcurrent children at once, measured inside the model calls", async () => {
    let running = 0;
    let most = 0;
    const generate = OfflineChatModel.prototype._generate;
    vi.spyOn(OfflineChatModel.prototype, "_generate").mockImplementation(async function (
      this: OfflineChatModel,
      ...args
    ) {
      most = Math.max(most, ++running);
      try {
        return await generate.apply(this, args);
      } finally {
        running--;
      }
    });
    const children = Array.from({ length: 7 }, (_, i) => llm(`w${i + 1}`));
    const state = await run(
      { name: "capped", steps: [{ stepId: "fan", stepType: "parallel", maxConcurrent: 3, parallelSteps: children }] },
      { latencyMs: 30 },
    );
    expect(state.status).toBe("COMPLETED");
    expect(Object.keys(offlineCallCounts()).sort()).toEqual(children.map((c) => c.stepId).sort());
    expect(most).toBeGreaterThan(1);
    expect(most).toBeLessThanOrEqual(3);
  });
});

describe("conditional steps", () => {
  it("a false condition gives SKIPPED, and its dependents still run", async () => {
    const state = await run(
      {
        name: "conditional",
        globalVariables: { amount: 500, premium_customer: false },
        steps: [
          { ...llm("fraud_check"), stepType: "conditional", conditions: ["amount > 10000"] },
          { ...llm("express"), stepType: "conditional", conditions: ["premium_customer", "confidence < 0.8"] },
          { ...llm("confirm"), stepType: "sequential", dependencies: ["fraud_check", "express"] },
        ],
      },
      { input: { confidence: 0.5 } },
    );
    expect(state.steps.fraud_check).toMatchObject({ status: "SKIPPED" });
    expect(state.steps.express!.status).toBe("COMPLETED");
    expect(state.steps.confirm!.status).toBe("COMPLETED");
    expect(state.status).toBe("COMPLETED");
    expect(offlineCallCounts().fraud_check).toBeUndefined();
  });
});

describe("loop steps", () => {
  it("stop at loopMaxIterations when the condition stays true", async () => {
    const state = await run({
      name: "capped-loop",
      globalVariables: { n: 0 },
      steps: [
        {
          stepId: "count",
          stepType: "loop",
          loopCondition: "true",
          loopMaxIterations: 4,
          action: { set: { n: "n + 1" } },
        },
      ],
    });
    expect(state.steps.count).toMatchObject({ status: "COMPLETED", iterations: 4, stoppedByCap: true });
    expect(state.context.n).toBe(4);
  });

  it("stop when the condition turns false", async () => {
    const state = await run({
      name: "loop",
      globalVariables: { n: 0 },
      steps: [
        {
          stepId: "count",
          stepType: "loop",
          loopCondition: "n < 3",
          loopMaxIterations: 50,
          action: { set: { n: "n + 1" } },
        },
        { ...llm("refine"), stepType: "loop", loopCondition: "iteration < 2", dependencies: ["count"] },
      ],
    });
    expect(state.steps.count).toMatchObject({ status: "COMPLETED", iterations: 3, stoppedByCap: false });
    expect(state.context.n).toBe(3);
    expect(state.steps.refine).toMatchObject({ status: "COMPLETED", iterations: 2 });
    expect(offlineCallCounts().refine).toBe(2);
  });
});

describe("timeouts and retries", () => {
  it("a hanging step fails at its timeoutSeconds", async () => {
    const state = await run(
      { name: "hang", steps: [llm("stuck", { timeoutSeconds: 0.5, stepType: "sequential" })] },
      { faults: { stuck: { hang: true } } },
    );
    expect(state.steps.stuck).toMatchObject({ status: "FAILED", error: "timed out after 0.5 s (timeoutSeconds)" });
    expect(state.status).toBe("FAILED");
  });

  it("a workflow past its deadline ends TIMEOUT", async () => {
    const state = await run(
      {
        name: "deadline",
        timeoutSeconds: 1,
        steps: [llm("slow", { stepType: "sequential" }), { ...llm("next"), dependencies: ["slow"] }],
      },
      { faults: { slow: { hang: true } } },
    );
    expect(state.status).toBe("TIMEOUT");
    expect(state.steps.slow!.error).toMatch(/^cut off at the workflow deadline/);
    expect(state.steps.next!.status).toBe("PENDING");
  });

  it("a step failing twice succeeds on its third attempt with maxAttempts 3", async () => {
    const policy = { maxAttempts: 3, backoff: { initialDelayMs: 20, maxDelayMs: 100 } };
    const state = await run(
      { name: "retry", steps: [llm("flaky", { retryPolicy: policy })] },
      { faults: { flaky: { fail: 2 } } },
    );
    expect(state.steps.flaky).toMatchObject({ status: "COMPLETED", attempts: 3 });
    expect(state.retryCount.flaky).toBe(3);
    expect(offlineCallCounts().flaky).toBe(3);
  });

  it("by default, a step failing twice completes on its third attempt, each wait below its full-jitter bound", async () => {
    const state = await run({ name: "retry-default", steps: [llm("flaky")] }, { faults: { flaky: { fail: 2 } } });
    expect(state.steps.flaky).toMatchObject({ status: "COMPLETED", attempts: 3 });
    expect(offlineCallCounts().flaky).toBe(3);
    const delays = state.steps.flaky!.retryDelaysMs!;
    expect(delays).toHaveLength(2);
    // Defaults: 100 ms doubled per retry, capped at 10 s; full jitter waits in [0, bound).
    delays.forEach((delay, i) => {
      expect(delay).toBeGreaterThanOrEqual(0);
      expect(delay).toBeLessThan(retryDelayBound(i + 1, DEFAULT_RETRY_POLICY.backoff));
    });
  });

  it("and fails with maxAttempts 2", async () => {
    const state = await run(
      { name: "retry", retryPolicy: { maxAttempts: 2 }, steps: [llm("flaky")] },
      { faults: { flaky: { fail: 2 } } },
    );
    expect(state.steps.flaky).toMatchObject({ status: "FAILED", attempts: 2 });
    expect(state.status).toBe("FAILED");
  });
});

describe("the other step types", () => {
  it("an orchestrator step splits its input into subtasks, one worker each", async () => {
    const state = await run(
      {
        name: "orchestrated",
        steps: [
          {
            stepId: "plan",
            stepType: "orchestrator",
            action: { llm: "Split the research on {{topic}} into subtasks: market size, pricing, competitors." },
            parallelSteps: [
              { stepId: "research", stepType: "worker", action: { llm: "Research {{subtask}} for {{topic}}." } },
            ],
          },
        ],
      },
      { input: { topic: "heat pumps" } },
    );
    expect(state.status).toBe("COMPLETED");
    const subtasks = state.steps.plan!.subtasks!;
    expect(subtasks.length).toBeGreaterThan(0);
    expect(state.steps.plan!.children).toEqual(subtasks.map((_, i) => `research#${i + 1}`));
    for (const [i, subtask] of subtasks.entries())
      expect(state.steps[`research#${i + 1}`]).toMatchObject({ status: "COMPLETED", subtask });
    expect(offlineCallCounts().research).toBe(subtasks.length);
  });

  it("a react step runs the prebuilt agent with the registry's tools", async () => {
    const state = await run({
      name: "react",
      steps: [
        {
          stepId: "agent",
          stepType: "react",
          action: { react: { prompt: "Use the calculator on 6 * 7.", tools: ["calculator"], maxSteps: 3 } },
        },
      ],
    });
    expect(state.status).toBe("COMPLETED");
    expect(state.intermediateResults.agent).toMatchObject({ toolCalls: 1 });
  });
});

describe("definitions by name", () => {
  it("runs a stored definition named in the input: structured output, output mapping and set", async () => {
    process.env.ORCHESTRA_WORKFLOWS_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), "fixtures");
    try {
      const state = await run("order", { input: { customer: "ACME" } });
      expect(state.status).toBe("COMPLETED");
      expect(state.steps.special_shipping!.status).toBe("SKIPPED");
      const review = state.intermediateResults.fraud_review as { risk: number; rationale: string };
      expect(state.context).toMatchObject({
        risk: review.risk,
        confirmed: true,
        risk_label: review.risk > 0.5 ? "high" : "low",
      });
    } finally {
      delete process.env.ORCHESTRA_WORKFLOWS_DIR;
    }
  });

  it("a name with no stored definition fails the run, saying where it looked", async () => {
    const state = await run("no-such-workflow");
    expect(state.status).toBe("FAILED");
    expect(state.errors.at(-1)!.message).toMatch(
      /^no workflow named 'no-such-workflow' in .*definitions\/enterprise_workflow; give a definition/,
    );
  });
});

describe("scale", () => {
  it("a 200-step generated definition of chains and fans runs to completion", async () => {
    const steps: Record<string, unknown>[] = [];
    let count = 0;
    let previous: string | undefined;
    for (let group = 0; count < 200; group++) {
      const chain = [`chain${group}a`, `chain${group}b`, `chain${group}c`];
      for (const id of chain) {
        steps.push({ ...llm(id), stepType: "sequential", dependencies: previous ? [previous] : [] });
        previous = id;
        count++;
      }
      const children = Array.from({ length: 6 }, (_, i) => llm(`fan${group}_${i}`));
      steps.push({ stepId: `fan${group}`, stepType: "parallel", dependencies: [previous], parallelSteps: children });
      count += 1 + children.length;
      steps.push({
        stepId: `tally${group}`,
        stepType: "sequential",
        dependencies: [`fan${group}`],
        action: { set: { [`g${group}`]: `${group}` } },
      });
      previous = `tally${group}`;
      count++;
    }
    const state = await run({ name: "generated", maxParallelSteps: 50, steps });
    expect(count).toBeGreaterThanOrEqual(200);
    expect(state.status).toBe("COMPLETED");
    expect(Object.values(state.steps).every((record) => record.status === "COMPLETED")).toBe(true);
    expect(Object.keys(state.steps)).toHaveLength(count);
  }, 120_000);
});
