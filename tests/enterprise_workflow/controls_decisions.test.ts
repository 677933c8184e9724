import { describe, expect, it } from "vitest";
import { approverRefusal } from "../../nodes/enterprise_workflow/approval.js";
import { ancestorThreads, childThreadId } from "../../nodes/enterprise_workflow/children.js";
import { MemoryEnterpriseControls } from "../../checkpoints/enterprise_workflow/controls.js";
import { pendingCompensations } from "../../nodes/enterprise_workflow/orchestrator.js";
import { resolveEnvReferences } from "../../nodes/enterprise_workflow/webhook.js";
import { checkDefinition } from "../../state/enterprise_workflow/loader.js";
import { formatAuditTrail } from "../../state/enterprise_workflow/report.js";

describe("approverRefusal", () => {
  const request = { approvers: ["compliance_officer"], allowedUsers: [] };
  it("accepts a holder of the role and refuses anyone else, naming the role", () => {
    expect(
      approverRefusal(request, { decision: "approve", reviewer: "carol", role: "compliance_officer" }),
    ).toBeUndefined();
    expect(approverRefusal(request, { decision: "approve", reviewer: "tom" })).toBe(
      "tom (no role) may not decide; needs role compliance_officer",
    );
    expect(
      approverRefusal({ approvers: [], allowedUsers: [] }, { decision: "reject", reviewer: "anyone" }),
    ).toBeUndefined();
  });
});

describe("pendingCompensations", () => {
  const workflow = checkDefinition({
    name: "w",
    steps: [
      {
        stepId: "a",
        stepType: "sequential",
        action: { set: { x: "1" } },
        rollbackActions: ["undo a", { set: { x: "0" } }],
      },
      { stepId: "b", stepType: "sequential", dependencies: ["a"], action: { set: { y: "1" } } },
      {
        stepId: "c",
        stepType: "sequential",
        dependencies: ["b"],
        action: { set: { z: "1" } },
        rollbackActions: ["undo c"],
      },
    ],
  });
  it("lists newest completed first, each step's actions as listed, skipping what already ran", () => {
    expect(pendingCompensations(workflow, ["a", "b", "c"], {}).map((item) => item.key)).toEqual([
      "c/rollback#1",
      "a/rollback#1",
      "a/rollback#2",
    ]);
    const ran = { "c/rollback#1": { kind: "compensation" as const, owner: "c", status: "FAILED" as const, at: "" } };
    expect(pendingCompensations(workflow, ["a", "b", "c"], ran).map((item) => item.key)).toEqual([
      "a/rollback#1",
      "a/rollback#2",
    ]);
  });
});

describe("resolveEnvReferences", () => {
  it("reads the variable, and names it (never a value) when unset", () => {
    expect(resolveEnvReferences("Bearer ${env:TOKEN}", "header Authorization", { TOKEN: "s3cret" })).toBe(
      "Bearer s3cret",
    );
    expect(() => resolveEnvReferences("Bearer ${env:TOKEN}", "header Authorization", {})).toThrow(
      "header Authorization refers to ${env:TOKEN}, which is unset; export TOKEN",
    );
  });
});

describe("formatAuditTrail", () => {
  it("one aligned line per entry, the engine as actor unless a person acted", () => {
    expect(
      formatAuditTrail([
        { at: "2025-01-01T00:00:00.000Z", event: "workflow_started", detail: "w 1.0" },
        { at: "2025-01-01T00:00:01.000Z", event: "approval_granted", stepId: "review", actor: "carol (officer)" },
      ]),
    ).toBe(
      [
        "2025-01-01T00:00:00.000Z  engine           workflow_started  -       w 1.0",
        "2025-01-01T00:00:01.000Z  carol (officer)  approval_granted  review",
      ].join("\n"),
    );
  });
});

describe("loading the new step types", () => {
  it("refuses misplaced approval fields and a webhook step without a webhook action", () => {
    expect(() =>
      checkDefinition({
        name: "w",
        steps: [{ stepId: "a", stepType: "sequential", approvers: ["x"], action: { set: { x: "1" } } }],
      }),
    ).toThrow("step 'a': approvers and requiredFor belong to human_approval steps");
    expect(() =>
      checkDefinition({ name: "w", steps: [{ stepId: "a", stepType: "webhook", action: { set: { x: "1" } } }] }),
    ).toThrow("step 'a': a webhook step needs a {webhook: {endpoint}} action");
    expect(() =>
      checkDefinition({ name: "w", steps: [{ stepId: "a", stepType: "human_approval", requiredFor: ["amount >"] }] }),
    ).toThrow(/^step 'a': bad requiredFor 'amount >'/);
  });
});

describe("a cancel passed on to detached children", () => {
  it("names a child thread's ancestors, its parent first; a thread of its own has none", () => {
    const grandchild = childThreadId(childThreadId("order-7", "vendors#2"), "check");
    expect(ancestorThreads(grandchild)).toEqual(["order-7.child.vendors-2", "order-7"]);
    expect(ancestorThreads("order-7")).toEqual([]);
  });

  it("reaches a child from an ancestor's cancel, not from its pause nor from requests it started after", async () => {
    const controls = new MemoryEnterpriseControls();
    const child = childThreadId("p", "s");
    const before = await controls.request("p", "cancel", "old");
    const floor = await controls.latestRequestId([child, "p"]);
    expect(floor).toBe(before.id);
    await controls.request("p", "pause", "ops");
    expect(await controls.nextRequest(child, floor, ["p"])).toBeUndefined();
    const cancel = await controls.request("p", "cancel", "ops");
    expect(await controls.nextRequest(child, floor, ["p"])).toEqual(cancel);
  });
});
