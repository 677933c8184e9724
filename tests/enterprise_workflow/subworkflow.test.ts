import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { compileEnterpriseWorkflow } from "../../graphs/enterprise_workflow.js";
import { loadWorkflow } from "../../graphs/registry.js";
import { approvalCommand } from "../../nodes/enterprise_workflow/approval.js";
import type { ChildQuestion } from "../../nodes/enterprise_workflow/tasks.js";
import { offlineCallCounts, resetOfflineCallCounts } from "../../models/offline/model.js";
import type { EnterpriseState } from "../../state/enterprise_workflow/state.js";
import { createTestSchema, type TestSchema } from "../support/database.js";
import { testEngineServices } from "../support/enterprise.js";

// Subworkflow steps on Postgres with the offline model: the research workflow, the dynamic agents
// and named definitions as children, inline (in the parent's thread) and detached (threads of their own).

let db: TestSchema;
let engine: ReturnType<typeof compileEnterpriseWorkflow>;
let closeControls: () => Promise<void>;
let threads = 0;

const CHILDREN_DIR = new URL("./fixtures/children/", import.meta.url).pathname;

beforeAll(async () => {
  process.env.ORCHESTRA_WORKFLOWS_DIR = CHILDREN_DIR;
  db = await createTestSchema();
  const { services, close } = await testEngineServices(db);
  closeControls = close;
  const children = await Promise.all(["parallel_workflow", "dynamic_agents"].map((name) => loadWorkflow(name)));
  engine = compileEnterpriseWorkflow(db.checkpointer, services, children);
});
afterAll(async () => {
  delete process.env.ORCHESTRA_WORKFLOWS_DIR;
  await closeControls?.();
  await db?.cleanup();
});
beforeEach(() => resetOfflineCallCounts());

const configOf = (threadId: string) => ({ configurable: { thread_id: threadId, model: "offline" } });

async function snapshotOf(threadId: string) {
  const snapshot = await engine.getState(configOf(threadId));
  const questions = snapshot.tasks.flatMap((task) => task.interrupts.map((found) => found.value as ChildQuestion));
  return { values: snapshot.values as EnterpriseState, questions, snapshot };
}

async function run(definition: unknown, input: Record<string, unknown> = {}) {
  const threadId = `sub-${++threads}`;
  await engine.invoke({ definition, input }, configOf(threadId));
  return { threadId, ...(await snapshotOf(threadId)) };
}

const research = (mode: "inline" | "detached", extra: Record<string, unknown> = {}) => ({
  name: "parent",
  steps: [
    {
      stepId: "study",
      stepType: "subworkflow",
      subworkflow: { workflow: "parallel_workflow", mode },
      inputMapping: { task: "'Compare ' + vendor", settings: "{'review': 'never'}" },
      outputMapping: { report: "output.report" },
      ...extra,
    },
    { stepId: "after", stepType: "sequential", dependencies: ["study"], action: { set: { done: "true" } } },
  ],
});

describe("a subworkflow step", () => {
  it.each(["inline", "detached"] as const)(
    "runs the research workflow %s, mapping its input and output",
    async (mode) => {
      const { values, threadId } = await run(research(mode), { vendor: "Acme" });
      expect(values.status).toBe("COMPLETED");
      expect(values.steps.study).toMatchObject({ status: "COMPLETED" });
      expect(typeof values.context.report).toBe("string");
      expect(values.context.done).toBe(true);
      const result = values.intermediateResults.study as {
        workflow: string;
        mode: string;
        status: string;
        thread?: string;
      };
      expect(result).toMatchObject({ workflow: "parallel_workflow", mode, status: "completed" });
      if (mode === "detached") {
        expect(result.thread).toBe(`${threadId}.child.study`);
        const child = await (await loadWorkflow("parallel_workflow"))
          .compile(db.checkpointer)
          .getState(configOf(result.thread!));
        expect((child.values as { status?: string }).status).toBe("completed");
      }
    },
  );
});

const delegate = (mode: "inline" | "detached") => ({
  name: "delegating",
  steps: [
    {
      stepId: "delegate",
      stepType: "subworkflow",
      subworkflow: { definition: "child_approval", mode },
      inputMapping: { vendor: "vendor" },
      outputMapping: { verdict: "output.result.verdict.verdict" },
    },
  ],
});

describe("a child's question", () => {
  it.each(["inline", "detached"] as const)(
    "surfaces on the parent naming the step (%s), and the parent's answer resumes the child",
    async (mode) => {
      const { threadId, questions, values } = await run(delegate(mode), { vendor: "Acme" });
      expect(values.status).not.toBe("COMPLETED");
      expect(questions).toHaveLength(1);
      expect(questions[0]).toMatchObject({
        kind: "child",
        stepId: "delegate",
        workflow: "enterprise_workflow",
        mode,
        request: { kind: "approval", stepId: "sign_off", approvers: ["manager"] },
      });
      if (mode === "detached") expect(questions[0]!.thread).toBe(`${threadId}.child.delegate`);

      await engine.invoke(
        approvalCommand({ decision: "approve", reviewer: "dana", role: "manager" }),
        configOf(threadId),
      );
      const after = await snapshotOf(threadId);
      expect(after.questions).toEqual([]);
      expect(after.values.status).toBe("COMPLETED");
      expect(after.values.context.verdict).toBe("approved Acme");
    },
  );

  it("is the inline child's own state under getState with subgraphs", async () => {
    const { threadId } = await run(delegate("inline"), { vendor: "Acme" });
    const snapshot = await engine.getState(configOf(threadId), { subgraphs: true });
    const child = snapshot.tasks.find((task) => task.name === "child_enterprise_workflow")?.state as
      | { values: EnterpriseState }
      | undefined;
    expect(child?.values.workflowName).toBe("child_approval");
    expect(child?.values.status).toBe("WAITING_APPROVAL");
  });
});

describe("children of other workflows", () => {
  it("runs the dynamic agents as a child", async () => {
    const { values } = await run(
      {
        name: "agents",
        globalVariables: { agentSettings: { review: "never", qualityThreshold: 0.5 } },
        steps: [
          {
            stepId: "analyse",
            stepType: "subworkflow",
            subworkflow: { workflow: "dynamic_agents" },
            inputMapping: {
              taskQueue: "[{'description': 'Analyse ' + vendor, 'type': 'analysis'}]",
              settings: "agentSettings",
            },
            outputMapping: { analysis: "output.report" },
          },
        ],
      },
      { vendor: "Acme" },
    );
    expect(values.errors).toEqual([]);
    expect(values.status).toBe("COMPLETED");
    expect(typeof values.context.analysis).toBe("string");
    expect(Object.keys(offlineCallCounts()).length).toBeGreaterThan(0);
  });
});
