import { beforeEach, describe, expect, it, vi } from "vitest";
import type { BaseMessage } from "@langchain/core/messages";
import type { BranchFindings } from "../../state/shared/findings.js";

// A scripted stand-in for the chat model: each test says what the next call does.
const script = vi.hoisted(() => ({
  behaviour: "answer" as "answer" | "throw" | "hang",
  answer: undefined as unknown,
  prompts: [] as { system: string; human: string }[],
}));
vi.mock("../../models/index.js", () => ({
  parseModelSpec: () => ({ provider: "offline" }),
  defaultModelSpec: () => "offline",
  createChatModel: () => ({
    withStructuredOutput: () => ({
      invoke: (messages: BaseMessage[]) => {
        script.prompts.push({ system: String(messages[0]!.content), human: String(messages[1]!.content) });
        if (script.behaviour === "throw") return Promise.reject(new Error("model exploded"));
        if (script.behaviour === "hang") return new Promise(() => {});
        return Promise.resolve(script.answer);
      },
    }),
  }),
}));

import { runBranch } from "../../nodes/parallel_workflow/branch.js";
import { dataQualityScore } from "../../nodes/shared/findings.js";
import type { BranchInput } from "../../state/parallel_workflow/workflow.js";
import { allocation, plain } from "../support/fixtures.js";

const finding = (confidence: number, evidence: number) => ({
  claim: `claim at ${confidence}`,
  evidence: Array.from({ length: evidence }, (_, i) => `evidence ${i}`),
  confidence,
});

describe("dataQualityScore: 0.5 × mean confidence + 0.3 × share with ≥ 2 evidence + 0.2 × overall confidence", () => {
  it("scores a mix of evidenced and thin findings", () => {
    // mean 0.8 → 0.4; 1 of 2 evidenced → 0.15; overall 0.8 → 0.16; total 0.71
    expect(dataQualityScore({ summary: "", findings: [finding(0.9, 2), finding(0.7, 1)], confidence: 0.8 })).toBe(0.71);
  });

  it("scores confident, well-evidenced findings 1", () => {
    expect(dataQualityScore({ summary: "", findings: [finding(1, 3)], confidence: 1 })).toBe(1);
  });

  it("gives nothing for evidence below two items", () => {
    // 0.5*0.2 + 0 + 0.2*0.1 = 0.1 + 0.02 = 0.12
    expect(dataQualityScore({ summary: "", findings: [finding(0.2, 0)], confidence: 0.1 })).toBe(0.12);
  });

  it("rounds to three decimals", () => {
    // mean (0.1+0.2+0.2)/3 = 0.1666… → 0.08333…; 1 of 3 evidenced → 0.1; overall 0.5 → 0.1; 0.28333… → 0.283
    expect(
      dataQualityScore({ summary: "", findings: [finding(0.1, 2), finding(0.2, 1), finding(0.2, 0)], confidence: 0.5 }),
    ).toBe(0.283);
  });

  it("is 0 without findings", () => {
    expect(dataQualityScore({ summary: "", findings: [], confidence: 1 })).toBe(0);
  });
});

describe("runBranch", () => {
  const findings: BranchFindings = {
    summary: "Rust is fast",
    findings: [finding(0.9, 2), finding(0.7, 1)],
    confidence: 0.8,
  };
  const input = (overrides: Parameters<typeof allocation>[2] = {}): BranchInput => ({
    branchId: "b1",
    model: "offline",
    allocation: allocation("b1", 0, { attempt: 2, ...overrides }),
    taskQueue: [{ description: "Pick a systems language" }],
    priorResults: [{ branchId: "b0", summary: "C is old" }],
  });
  const ALPHA = { node: "research_branch_alpha" as const, role: "You are a technical research agent." };

  beforeEach(() => {
    script.behaviour = "answer";
    script.answer = findings;
    script.prompts.length = 0;
  });

  it("records a success for its own branch, with the four measures", async () => {
    const update = await plain(runBranch(ALPHA, input(), {}));
    const r = update.completedBranches!.b1!;
    expect(Object.keys(update.completedBranches!)).toEqual(["b1"]);
    expect(r).toMatchObject({
      branchId: "b1",
      node: "research_branch_alpha",
      status: "success",
      attempt: 2,
      modelCalls: 1,
      results: findings,
    });
    expect(r.performance.dataQualityScore).toBe(0.71);
    expect(r.performance.executionTime).toBeGreaterThanOrEqual(0);
    expect(r.performance.resourceUtilization).toBeGreaterThanOrEqual(0);
    expect(r.performance.resourceUtilization).toBeLessThanOrEqual(1);
    expect(r.performance.throughput).toBeGreaterThanOrEqual(0);
    // The performance is on the result: no second channel carries it.
    expect(Object.keys(update).sort()).toEqual(["completedBranches", "executionTimeline"]);
    expect(update.executionTimeline).toEqual([
      expect.objectContaining({
        event: "branch_completed",
        node: "research_branch_alpha",
        branchId: "b1",
        attempt: 2,
        dataQualityScore: 0.71,
      }),
    ]);
  });

  it("puts the role, objective, prior results, feedback and scope into the prompt", async () => {
    await plain(
      runBranch(
        ALPHA,
        input({
          feedback: "Name the vendors.",
          scope: "reduced",
          resources: { cpuShare: 0.2, timeoutMs: 5000, maxFindings: 2 },
        }),
        {},
      ),
    );
    const [{ system, human }] = script.prompts as [{ system: string; human: string }];
    expect(system).toBe(ALPHA.role);
    expect(human).toContain("Objective: objective of b1");
    expect(human).toContain("- b0: C is old");
    expect(human).toContain("Feedback to address: Name the vendors.");
    expect(human).toContain("Return at most 2 findings");
    expect(human).toContain("reduced-scope retry");
  });

  it("records a failure for its own branch instead of throwing", async () => {
    script.behaviour = "throw";
    const update = await plain(runBranch(ALPHA, input(), {}));
    expect(update.completedBranches!.b1).toMatchObject({
      status: "failed",
      error: "model exploded",
      attempt: 2,
      modelCalls: 1,
    });
    expect(update.completedBranches!.b1!.timedOut).toBeUndefined();
    expect(update.completedBranches!.b1!.performance.dataQualityScore).toBe(0);
    expect(update.executionTimeline).toEqual([
      expect.objectContaining({ event: "branch_failed", error: "model exploded" }),
    ]);
  });

  it("cuts a hanging model off at the branch's timeout and records it as timed out", async () => {
    script.behaviour = "hang";
    const started = Date.now();
    const update = await plain(
      runBranch(ALPHA, input({ resources: { cpuShare: 0.2, timeoutMs: 150, maxFindings: 4 } }), {}),
    );
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(update.completedBranches!.b1).toMatchObject({
      status: "failed",
      timedOut: true,
      error: "timed out after 150 ms",
    });
  });

  it("waits its backoff before calling the model", async () => {
    const started = Date.now();
    await plain(runBranch(ALPHA, input({ backoffMs: 120 }), {}));
    expect(Date.now() - started).toBeGreaterThanOrEqual(100);
    expect(script.prompts).toHaveLength(1);
  });

  it("does not count the retry backoff against the branch's timeout", async () => {
    // branchTimeoutMs may be as low as 100 ms and the first retry waits RETRY_BACKOFF_BASE_MS = 250 ms:
    // the wait is load_balancer's accounting, not the branch's work, so the model must still be asked.
    const update = await plain(
      runBranch(ALPHA, input({ backoffMs: 250, resources: { cpuShare: 0.2, timeoutMs: 200, maxFindings: 4 } }), {}),
    );
    expect(script.prompts).toHaveLength(1);
    expect(update.completedBranches!.b1).toMatchObject({ status: "success", modelCalls: 1 });
  });

  it("lets a cancelled run stop instead of recording a failure", async () => {
    script.behaviour = "hang";
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error("run cancelled")), 50);
    await expect(runBranch(ALPHA, input(), { signal: controller.signal })).rejects.toThrow(/run cancelled/);
  });
});
