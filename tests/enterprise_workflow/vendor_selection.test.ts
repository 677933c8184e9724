import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { compileEnterpriseWorkflow } from "../../graphs/enterprise_workflow.js";
import { loadWorkflow } from "../../graphs/registry.js";
import { approvalCommand } from "../../nodes/enterprise_workflow/approval.js";
import { resetOfflineCallCounts } from "../../models/offline/model.js";
import type { EnterpriseState } from "../../state/enterprise_workflow/state.js";
import { createTestSchema, type TestSchema } from "../support/database.js";
import { testEngineServices } from "../support/enterprise.js";

// The shipped vendor_selection example end to end, offline: a map of three research children,
// one dynamic-agents child comparing them, then procurement's approval.

let db: TestSchema;
let engine: ReturnType<typeof compileEnterpriseWorkflow>;
let closeControls: () => Promise<void>;

beforeAll(async () => {
  db = await createTestSchema();
  const { services, close } = await testEngineServices(db);
  closeControls = close;
  const children = await Promise.all(["parallel_workflow", "dynamic_agents"].map((name) => loadWorkflow(name)));
  engine = compileEnterpriseWorkflow(db.checkpointer, services, children);
});
afterAll(async () => {
  await closeControls?.();
  await db?.cleanup();
});
beforeEach(() => resetOfflineCallCounts());

const config = { configurable: { thread_id: "vendor-selection", model: "offline" } };

describe("vendor_selection", () => {
  it("researches three vendors, compares them with the agents, then waits for procurement to choose", async () => {
    await engine.invoke({ definition: "vendor_selection", input: {} }, config);
    const snapshot = await engine.getState(config);
    const values = snapshot.values as EnterpriseState;
    expect(values.errors).toEqual([]);
    expect(values.status).toBe("WAITING_APPROVAL");

    const research = ["research_vendors#1", "research_vendors#2", "research_vendors#3"];
    expect(research.map((key) => values.steps[key]?.status)).toEqual(["COMPLETED", "COMPLETED", "COMPLETED"]);
    expect(research.map((key) => (values.intermediateResults[key] as { workflow: string }).workflow)).toEqual(
      Array(3).fill("parallel_workflow"),
    );
    expect(values.context.vendorReports).toHaveLength(3);
    expect(values.intermediateResults.compare_vendors).toMatchObject({
      workflow: "dynamic_agents",
      status: "completed",
    });
    expect(typeof values.context.comparison).toBe("string");
    expect(values.steps.escalate_research).toMatchObject({ status: "SKIPPED" });
    const asked = snapshot.tasks.flatMap((task) =>
      task.interrupts.map((found) => found.value as { stepId: string; approvers: string[] }),
    );
    expect(asked).toMatchObject([{ stepId: "choose_vendor", approvers: ["procurement_manager"] }]);

    await engine.invoke(approvalCommand({ decision: "approve", reviewer: "pat", role: "procurement_manager" }), config);
    expect(((await engine.getState(config)).values as EnterpriseState).status).toBe("COMPLETED");
  });
});
