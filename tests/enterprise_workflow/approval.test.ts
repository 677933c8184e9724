import { Command } from "@langchain/langgraph";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compileEnterpriseWorkflow } from "../../graphs/enterprise_workflow.js";
import { approvalCommand, type ApprovalDecision } from "../../nodes/enterprise_workflow/approval.js";
import type { ApprovalRequest } from "../../nodes/enterprise_workflow/tasks.js";
import type { EnterpriseState } from "../../state/enterprise_workflow/state.js";
import { createTestSchema, type TestSchema } from "../support/database.js";
import { testEngineServices } from "../support/enterprise.js";
import { startReceiver, type Receiver } from "../support/receiver.js";

// The shipped example workflows, run by name on Postgres with the offline model; webhooks go to the
// repo's dev receiver in a child process; approvals are answered as the CLI and the API answer them.

let db: TestSchema;
let workflow: ReturnType<typeof compileEnterpriseWorkflow>;
let receiver: Receiver;
let closeControls: () => Promise<void>;
let threads = 0;

beforeAll(async () => {
  process.env.ORCHESTRA_WEBHOOK_ALLOW_HOSTS = "127.0.0.1";
  process.env.WAREHOUSE_TOKEN = "warehouse-token-for-tests";
  db = await createTestSchema();
  const { services, close } = await testEngineServices(db);
  closeControls = close;
  workflow = compileEnterpriseWorkflow(db.checkpointer, services);
  receiver = await startReceiver();
});
afterAll(async () => {
  delete process.env.ORCHESTRA_WEBHOOK_ALLOW_HOSTS;
  delete process.env.WAREHOUSE_TOKEN;
  await receiver?.stop();
  await closeControls?.();
  await db?.cleanup();
});

const configOf = (threadId: string) => ({ configurable: { thread_id: threadId, model: "offline" } });

async function snapshotOf(threadId: string) {
  const snapshot = await workflow.getState(configOf(threadId));
  const questions = snapshot.tasks.flatMap((task) => task.interrupts.map((found) => found.value as ApprovalRequest));
  return { values: snapshot.values as EnterpriseState, questions, next: snapshot.next };
}

async function start(definition: unknown, input: Record<string, unknown>) {
  const threadId = `approval-${++threads}`;
  await workflow.invoke({ definition, input }, configOf(threadId));
  return { threadId, ...(await snapshotOf(threadId)) };
}

async function answer(threadId: string, decision: ApprovalDecision | Command) {
  await workflow.invoke(decision instanceof Command ? decision : approvalCommand(decision), configOf(threadId));
  return snapshotOf(threadId);
}

/** Answers every question with an approval by a holder of the first role asked for, until the run ends. */
async function approveAll(threadId: string) {
  let current = await snapshotOf(threadId);
  for (let round = 0; current.questions.length && round < 10; round++) {
    current = await answer(threadId, {
      decision: "approve",
      reviewer: "dana",
      role: current.questions[0]!.approvers[0],
    });
  }
  return current;
}

describe("financial_transaction", () => {
  it("pauses at compliance_review for 10001, refuses an approver without compliance_officer and asks again, then completes", async () => {
    const run = await start("financial_transaction", { amount: 10001 });
    expect(run.values.status).toBe("WAITING_APPROVAL");
    expect(run.values.steps.fraud_detection!.status).toBe("COMPLETED");
    expect(run.questions).toEqual([
      expect.objectContaining({ kind: "approval", stepId: "compliance_review", approvers: ["compliance_officer"] }),
    ]);
    expect(run.questions[0]!.subject).toMatchObject({ context: { amount: 10001, high_risk_transactions: true } });

    const refused = await answer(run.threadId, { decision: "approve", reviewer: "tom", role: "teller" });
    expect(refused.values.status).toBe("WAITING_APPROVAL");
    expect(refused.values.steps.process_and_log!.status).toBe("PENDING");
    expect(refused.questions).toHaveLength(1);
    expect(refused.questions[0]!.lastRefusal).toBe("tom (teller) may not decide; needs role compliance_officer");
    expect(refused.values.auditTrail).toContainEqual(
      expect.objectContaining({ event: "approval_refused", actor: "tom", stepId: "compliance_review" }),
    );

    const approved = await answer(run.threadId, {
      decision: "approve",
      reviewer: "carol",
      role: "compliance_officer",
      comment: "documents checked",
    });
    expect(approved.values.status).toBe("COMPLETED");
    expect(approved.questions).toEqual([]);
    expect(approved.values.steps.compliance_review).toMatchObject({ status: "COMPLETED", refusals: 1 });
    expect(approved.values.intermediateResults.compliance_review).toMatchObject({
      decision: "approve",
      reviewer: "carol",
      role: "compliance_officer",
    });
    expect(approved.values.auditTrail).toContainEqual(
      expect.objectContaining({
        event: "approval_granted",
        actor: "carol (compliance_officer)",
        detail: "documents checked",
      }),
    );
  });

  it("skips compliance_review for 10000", async () => {
    const run = await start("financial_transaction", { amount: 10000 });
    expect(run.questions).toEqual([]);
    expect(run.values.status).toBe("COMPLETED");
    expect(run.values.steps.fraud_detection!.status).toBe("SKIPPED");
    expect(run.values.steps.compliance_review).toMatchObject({
      status: "SKIPPED",
      reason: "approval not required: requiredFor false: high_risk_transactions",
    });
  });

  it("a rejection fails the run; approve with changes puts the changes in the context", async () => {
    const rejected = await start("financial_transaction", { amount: 20000 });
    const after = await answer(rejected.threadId, {
      decision: "reject",
      reviewer: "carol",
      role: "compliance_officer",
      comment: "source of funds unclear",
    });
    expect(after.values.status).toBe("FAILED");
    expect(after.values.steps.compliance_review).toMatchObject({
      status: "FAILED",
      error: "rejected by carol (compliance_officer): source of funds unclear",
    });
    expect(after.values.steps.process_and_log!.status).toBe("PENDING");

    const changed = await start("financial_transaction", { amount: 20000 });
    const done = await answer(changed.threadId, {
      decision: "approve_with_changes",
      reviewer: "carol",
      role: "compliance_officer",
      changes: { amount: 15000 },
    });
    expect(done.values.status).toBe("COMPLETED");
    expect(done.values.context.amount).toBe(15000);
    expect(done.values.auditTrail).toContainEqual(
      expect.objectContaining({ event: "approval_granted_with_changes", detail: "changed amount" }),
    );
  });

  it("an allowedUsers list refuses anyone else, whatever their role", async () => {
    const definition = {
      name: "allowed",
      allowedUsers: ["carol"],
      steps: [{ stepId: "sign_off", stepType: "human_approval", approvers: ["compliance_officer"] }],
    };
    const run = await start(definition, {});
    const refused = await answer(run.threadId, {
      decision: "approve",
      reviewer: "mallory",
      role: "compliance_officer",
    });
    expect(refused.questions[0]!.lastRefusal).toBe("mallory is not an allowed user of this workflow (allowed: carol)");
    // A falsy or malformed answer is refused as well, and the question stays.
    const malformed = await answer(run.threadId, new Command({ resume: { decision: "maybe" } }));
    expect(malformed.questions[0]!.lastRefusal).toMatch(/^answer not understood/);
    const approved = await answer(run.threadId, { decision: "approve", reviewer: "carol", role: "compliance_officer" });
    expect(approved.values.status).toBe("COMPLETED");
  });
});

describe("waiting for approval", () => {
  it("does not count against the workflow's deadline", async () => {
    const run = await start(
      {
        name: "short-deadline",
        timeoutSeconds: 1,
        steps: [
          { stepId: "sign_off", stepType: "human_approval" },
          { stepId: "after", stepType: "sequential", dependencies: ["sign_off"], action: { set: { done: "true" } } },
        ],
      },
      {},
    );
    const firstDeadline = run.values.deadline;
    await new Promise((resolve) => setTimeout(resolve, Date.parse(firstDeadline) - Date.now() + 200));
    const after = await answer(run.threadId, { decision: "approve", reviewer: "dana" });
    expect(after.values.status).toBe("COMPLETED");
    expect(after.values.context.done).toBe(true);
    expect(Date.parse(after.values.deadline)).toBeGreaterThan(Date.parse(firstDeadline));
  });
});

describe("content_moderation", () => {
  it("escalates confidence 0.75 to human review by a content_moderator", async () => {
    const run = await start("content_moderation", { confidence: 0.75, notify_url: `${receiver.url}/notify` });
    expect(run.values.steps.escalate_to_human!.status).toBe("COMPLETED");
    expect(run.questions).toEqual([
      expect.objectContaining({ stepId: "human_review", approvers: ["content_moderator"] }),
    ]);
    const done = await approveAll(run.threadId);
    expect(done.values.status).toBe("COMPLETED");
    expect(done.values.context.moderation_decision).toBe("reviewed_by_moderator");
  });

  it("skips human review at confidence 0.9 without sensitive content", async () => {
    const run = await start("content_moderation", { confidence: 0.9, notify_url: `${receiver.url}/notify` });
    expect(run.questions).toEqual([]);
    expect(run.values.status).toBe("COMPLETED");
    expect(run.values.steps.escalate_to_human!.status).toBe("SKIPPED");
    expect(run.values.steps.human_review!.status).toBe("SKIPPED");
    expect(run.values.context.moderation_decision).toBe("auto_approved");
  });
});

describe("each example end to end, approvals answered", () => {
  it.each([
    ["customer_service", {}],
    ["ecommerce_order", { premium_customer: true }],
    ["content_moderation", { confidence: 0.5, sensitive_content: true }],
    ["financial_transaction", { amount: 50000, unusual_pattern: true }],
  ])("%s", async (name, input) => {
    const urls = { warehouse_url: `${receiver.url}/ship`, notify_url: `${receiver.url}/notify` };
    const run = await start(name, { ...urls, ...input });
    const done = await approveAll(run.threadId);
    expect(done.values.status, JSON.stringify(done.values.errors)).toBe("COMPLETED");
    expect(done.values.workflowName).toBe(name);
    const steps = done.values.workflow!.steps.map((step) => [step.stepId, done.values.steps[step.stepId]!.status]);
    expect(steps.every(([, status]) => status === "COMPLETED" || status === "SKIPPED")).toBe(true);
    const webhooks = done.values.workflow!.steps.filter((step) => step.stepType === "webhook");
    for (const step of webhooks) {
      expect(done.values.intermediateResults[step.stepId]).toMatchObject({ status: 200, body: { accepted: true } });
      expect(done.values.auditTrail).toContainEqual(
        expect.objectContaining({ event: "webhook_called", stepId: step.stepId }),
      );
    }
  });
});
