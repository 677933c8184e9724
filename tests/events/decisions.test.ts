import { describe, expect, it } from "vitest";
import { eventWaitOutcome } from "../../nodes/enterprise_workflow/event_wait.js";
import type { EventWaitTask } from "../../nodes/enterprise_workflow/tasks.js";
import { TriggerSchema, evaluateEvent, signEvent, signatureProblem } from "../../state/shared/triggers.js";

// The pure decisions of the triggers and the wait_event step; the server tests drive them end to end.

const trigger = TriggerSchema.parse({
  name: "t",
  source: "http",
  secret: "${env:T_SECRET}",
  filter: "event.kind == 'a'",
  input: "{'n': event.n}",
  action: "signal",
  correlation: "event.id",
});

describe("evaluateEvent", () => {
  it("maps an accepted event and computes its correlation key; refuses with the filter's text", () => {
    expect(evaluateEvent(trigger, { kind: "a", n: 2, id: 7 })).toEqual({
      accepted: true,
      input: { n: 2 },
      correlationKey: "7",
    });
    expect(evaluateEvent(trigger, { kind: "b", n: 2, id: 7 })).toEqual({
      accepted: false,
      reason: "trigger t's filter refused the event: event.kind == 'a'",
    });
    expect(evaluateEvent(trigger, { kind: "a", n: 1, id: [1] })).toMatchObject({
      accepted: false,
      reason: expect.stringMatching(/correlation gave \[1\]/),
    });
  });

  it("refuses a declaration with one issue naming the field", () => {
    const parsed = TriggerSchema.safeParse({ name: "t", source: "nats", action: "signal", input: "event.(" });
    expect(parsed.success).toBe(false);
    expect(parsed.error!.issues.map((issue) => issue.path.join("."))).toEqual(["input", "subject", "correlation"]);
  });
});

describe("signatureProblem", () => {
  const now = 1_800_000_000;
  const request = (overrides: Partial<Parameters<typeof signatureProblem>[1]> = {}) => ({
    body: "{}",
    signature: signEvent("s", now, "{}", "k"),
    timestamp: String(now),
    idempotencyKey: "k",
    ...overrides,
  });
  it("holds for the right secret, key and body within 5 minutes, and for nothing else", () => {
    expect(signatureProblem("s", request(), now + 300)).toBeUndefined();
    expect(signatureProblem("s", request(), now + 301)).toMatch(/more than 300 s/);
    expect(signatureProblem("x", request(), now)).toMatch(/does not match/);
    expect(signatureProblem("s", request({ body: "{ }" }), now)).toMatch(/does not match/);
    expect(signatureProblem("s", request({ idempotencyKey: "other" }), now)).toMatch(/does not match/);
    expect(signatureProblem("s", request({ signature: undefined }), now)).toMatch(/^send x-orchestra-signature/);
    expect(signatureProblem("s", request({ timestamp: "soon" }), now)).toMatch(/Unix seconds/);
  });
});

describe("eventWaitOutcome", () => {
  const task = (onTimeout: "continue" | "fail" | "compensate"): EventWaitTask => ({
    kind: "wait_event",
    key: "wait",
    stepId: "wait",
    request: {
      kind: "wait_event",
      stepId: "wait",
      definition: "d",
      correlationKey: "O-1",
      deadline: "2026-01-02T00:00:00.000Z",
      onTimeout,
    },
    scope: {},
    outputMapping: { paid: "has(output.amount) ? output.amount : 0" },
    waitingSince: "2026-01-01T00:00:00.000Z",
    deadline: "2026-01-01T01:00:00.000Z",
  });
  const now = Date.parse("2026-01-01T00:10:00.000Z");

  it("completes with the event's payload as output, and moves the deadline by the wait", () => {
    const update = eventWaitOutcome(
      task("fail"),
      { kind: "event", trigger: "t", eventId: "e-1", payload: { amount: 5 } },
      now,
    );
    expect(update).toMatchObject({
      steps: { wait: { status: "COMPLETED" } },
      intermediateResults: { wait: { amount: 5 } },
      context: { paid: 5 },
      deadline: "2026-01-01T01:10:00.000Z",
    });
    expect((update.auditTrail as { event: string }[])[0]).toMatchObject({
      event: "event_received",
      detail: "trigger t, event e-1, key O-1",
    });
  });

  it("on a timeout continues, fails, or fails and rolls back", () => {
    expect(eventWaitOutcome(task("continue"), { kind: "timeout" }, now)).toMatchObject({
      steps: { wait: { status: "COMPLETED" } },
      intermediateResults: { wait: { timedOut: true } },
    });
    const failed = eventWaitOutcome(task("fail"), { kind: "timeout" }, now);
    expect(failed).toMatchObject({ steps: { wait: { status: "FAILED" } }, failedSteps: ["wait"] });
    expect(failed.rollback).toBeUndefined();
    expect(eventWaitOutcome(task("compensate"), { kind: "timeout" }, now)).toMatchObject({
      steps: { wait: { status: "FAILED" } },
      rollback: { target: "FAILED" },
    });
  });
});
