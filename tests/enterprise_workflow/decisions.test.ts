import { describe, expect, it } from "vitest";
import {
  childrenToStart,
  deadlineReached,
  loopDecision,
  parallelOutcome,
  readySteps,
  renderTemplate,
  stepTimeBudget,
} from "../../nodes/enterprise_workflow/decisions.js";
import { planTurn } from "../../nodes/enterprise_workflow/orchestrator.js";
import { executeWithPolicy, retryDelayBound } from "../../nodes/enterprise_workflow/workers.js";
import { stepLine } from "../../scripts/enterprise_workflow/engine.js";
import { DEFAULT_RETRY_POLICY } from "../../state/enterprise_workflow/definition.js";
import { checkDefinition } from "../../state/enterprise_workflow/loader.js";
import { definitionMermaid, runSummary } from "../../state/enterprise_workflow/report.js";
import { evaluateCondition, evaluateExpression } from "../../state/enterprise_workflow/expressions.js";
import type { EnterpriseState, StepRecord } from "../../state/enterprise_workflow/state.js";

const workflow = checkDefinition({
  name: "shape",
  steps: [
    { stepId: "a", stepType: "sequential", action: { llm: "a" } },
    {
      stepId: "b",
      stepType: "sequential",
      dependencies: ["a"],
      action: { llm: "b" },
      retryPolicy: { continueOnFailure: true },
    },
    { stepId: "c", stepType: "sequential", dependencies: ["a"], action: { llm: "c" } },
    { stepId: "d", stepType: "sequential", dependencies: ["b", "c"], action: { llm: "d" } },
  ],
});
const records = (statuses: Record<string, StepRecord["status"]>) =>
  Object.fromEntries(Object.entries(statuses).map(([id, status]) => [id, { status }]));

function stateWith(steps: Record<string, StepRecord>, deadline = "2100-01-01T00:00:00.000Z"): EnterpriseState {
  return { workflow, status: "RUNNING", steps, context: {}, intermediateResults: {}, deadline } as EnterpriseState;
}

describe("engine decisions", () => {
  it("a step is ready once its dependencies completed, were skipped, or failed under continueOnFailure", () => {
    expect(
      readySteps(workflow, records({ a: "PENDING", b: "PENDING", c: "PENDING", d: "PENDING" })).map((s) => s.stepId),
    ).toEqual(["a"]);
    expect(
      readySteps(workflow, records({ a: "COMPLETED", b: "FAILED", c: "SKIPPED", d: "PENDING" })).map((s) => s.stepId),
    ).toEqual(["d"]);
    expect(readySteps(workflow, records({ a: "FAILED", b: "PENDING", c: "PENDING", d: "PENDING" }))).toEqual([]);
  });

  it("a parallel step passes at the threshold, and with no children", () => {
    expect(parallelOutcome(["COMPLETED", "COMPLETED", "FAILED", "FAILED"], 0.5).success).toBe(true);
    expect(parallelOutcome(["COMPLETED", "FAILED", "FAILED", "FAILED"], 0.5)).toMatchObject({
      success: false,
      succeeded: 1,
      failed: 3,
    });
    expect(parallelOutcome([], 0.5)).toMatchObject({ success: true, total: 0 });
  });

  it("a loop stops when its condition is false, else at the cap", () => {
    expect(loopDecision(0, 3, true)).toBe("next_iteration");
    expect(loopDecision(3, 3, true)).toBe("iteration_cap");
    expect(loopDecision(2, 3, false)).toBe("condition_false");
  });

  it("deadlines are absolute; a step's time is cut to the deadline", () => {
    const deadline = "2030-01-01T00:00:10.000Z";
    const now = Date.parse("2030-01-01T00:00:00.000Z");
    expect(deadlineReached(deadline, now)).toBe(false);
    expect(deadlineReached(deadline, now + 10_000)).toBe(true);
    expect(stepTimeBudget(300, deadline, now)).toBe(10_000);
    expect(stepTimeBudget(2, deadline, now)).toBe(2_000);
    expect(stepTimeBudget(2, deadline, now + 20_000)).toBe(0);
  });

  it("children start within maxConcurrent, else the workflow's limit, and the turn's budget", () => {
    expect(childrenToStart(10, 3, 10, 10)).toBe(3);
    expect(childrenToStart(10, undefined, 4, 10)).toBe(4);
    expect(childrenToStart(10, 8, 10, 2)).toBe(2);
  });

  it("placeholders come from the context, and a missing one is named", () => {
    expect(renderTemplate("Order {{order.id}} of {{ amount }}", { order: { id: "o-1" }, amount: 3 })).toBe(
      "Order o-1 of 3",
    );
    expect(() => renderTemplate("{{nope}}", {})).toThrow("placeholder {{nope}} has no value");
  });

  it("expressions are CEL over JSON values", () => {
    expect(evaluateCondition("amount > 10000", { amount: 12000 })).toBe(true);
    expect(evaluateCondition("confidence < 0.8", { confidence: 0.5 })).toBe(true);
    expect(evaluateCondition("premium_customer", { premium_customer: false })).toBe(false);
    expect(evaluateExpression("count + 1", { count: 2 })).toBe(3);
    expect(() => evaluateCondition("amount", { amount: 1 })).toThrow("not true or false");
  });

  it("a run with steps left and none able to run fails, naming the stuck steps", () => {
    const turn = planTurn(
      stateWith(records({ a: "COMPLETED", b: "SKIPPED", c: "RUNNING", d: "PENDING" })),
      workflow,
      Date.now(),
    );
    expect(turn.finished).toBe(true);
    expect(turn.update.status).toBe("FAILED");
    expect(turn.update.errors).toContainEqual(
      expect.objectContaining({ message: "stuck: no step can run, and these remain: c; d (waits on c)" }),
    );
  });

  it("a run past its deadline ends TIMEOUT", () => {
    const turn = planTurn(
      stateWith(records({ a: "PENDING", b: "PENDING", c: "PENDING", d: "PENDING" }), "2000-01-01T00:00:00.000Z"),
      workflow,
      Date.now(),
    );
    expect(turn.update.status).toBe("TIMEOUT");
    expect(turn.tasks).toEqual([]);
  });

  it("draws the definition's steps and dependencies as mermaid", () => {
    const chart = definitionMermaid(workflow);
    expect(chart).toContain("s_a --> s_b");
    expect(chart).toContain("s_c --> s_d");
  });

  it("summarises a run as {threadId, status, next, steps, errors}", () => {
    const summary = runSummary(
      "t",
      { status: "COMPLETED", steps: { a: { status: "COMPLETED", attempts: 2, durationMs: 5 } }, errors: [] },
      [],
    );
    expect(summary).toEqual({
      threadId: "t",
      status: "COMPLETED",
      next: [],
      steps: { a: { status: "COMPLETED", attempts: 2, iterations: 0, durationMs: 5 } },
      errors: [],
    });
  });

  it("gives a failed run's step errors and its reason in the summary", () => {
    const refused = "webhook to 169.254.169.254 refused: a link-local address; add it to ORCHESTRA_WEBHOOK_ALLOW_HOSTS";
    const summary = runSummary(
      "t",
      {
        status: "FAILED",
        steps: { notify: { status: "FAILED", attempts: 1, durationMs: 3, error: refused } },
        errors: [{ stepId: "notify", message: refused, at: "2026-12-07T00:00:00.000Z" }],
      },
      [],
    );
    expect(summary.steps.notify?.error).toBe(refused);
    expect(summary.errors).toEqual([{ stepId: "notify", message: refused }]);
    expect(summary.failureReason).toBe(`notify: ${refused}`);
  });
});

describe("retry backoff", () => {
  const backoff = { initialDelayMs: 1, maxDelayMs: 4 };

  it("doubles the bound per retry up to the cap", () => {
    expect([1, 2, 3, 4, 5].map((n) => retryDelayBound(n, backoff))).toEqual([1, 2, 4, 4, 4]);
    expect(retryDelayBound(20, DEFAULT_RETRY_POLICY.backoff)).toBe(10_000);
  });

  it("waits a jittered time below each bound, for every retry of a failing step", async () => {
    const retryPolicy = { ...DEFAULT_RETRY_POLICY, maxAttempts: 12, backoff };
    const task = { retry: retryPolicy, timeoutSeconds: 60, deadline: new Date(Date.now() + 60_000).toISOString() };
    const execution = await executeWithPolicy(task, async () => {
      throw new Error("down");
    });
    expect(execution).toMatchObject({ ok: false, attempts: 12, error: "down" });
    expect(execution.retryDelaysMs).toHaveLength(11);
    execution.retryDelaysMs.forEach((delay, i) => expect(delay).toBeLessThan(retryDelayBound(i + 1, backoff)));
  });
});

describe("the CLI's step line", () => {
  it("shows the attempts and the waits between them", () => {
    expect(
      stepLine("fetch_quote", { status: "COMPLETED", attempts: 3, retryDelaysMs: [17, 169], durationMs: 315 }),
    ).toBe("  fetch_quote                      COMPLETED 3 attempts (waited 17, 169 ms) · 315ms");
  });
});
