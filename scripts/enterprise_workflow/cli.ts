import { Option } from "commander";
import type pg from "pg";
import { threadWorkflow } from "../../graphs/registry.js";
import type { WorkflowStatus } from "../../state/enterprise_workflow/state.js";
import type { RunStatus, WorkflowCli } from "../workflow_cli.js";

const RUN_STATUS: Record<WorkflowStatus, RunStatus> = {
  INITIALIZING: "running",
  RUNNING: "running",
  ROLLBACK: "running",
  WAITING_APPROVAL: "interrupted",
  PAUSED: "interrupted",
  COMPLETED: "completed",
  FAILED: "failed",
  CANCELLED: "failed",
  TIMEOUT: "failed",
};

const isWorkflowStatus = (value: unknown): value is WorkflowStatus =>
  typeof value === "string" && Object.hasOwn(RUN_STATUS, value);

/** The step an interrupt asks at, if it is an approval or a child's question: a child's named through its subworkflow step, `delegate › sign_off`. */
function approvalStep(interrupt: unknown): string | null {
  if (
    interrupt === null ||
    typeof interrupt !== "object" ||
    !("kind" in interrupt) ||
    (interrupt.kind !== "approval" && interrupt.kind !== "child")
  )
    return null;
  const step = "stepId" in interrupt && typeof interrupt.stepId === "string" ? interrupt.stepId : null;
  if (interrupt.kind === "approval" || step === null) return step;
  const inner = "request" in interrupt ? approvalStep(interrupt.request) : null;
  return inner ? `${step} › ${inner}` : step;
}

/** The engine's CLI: a thread is listed under its definition's name, with the engine's status word and the approval it waits at. */
export const enterpriseWorkflowCli: WorkflowCli = {
  listedChannels: ["status", "workflowName", "input"],
  listThread: ({ values, interrupts }) => {
    const status = isWorkflowStatus(values.status) ? values.status : "INITIALIZING";
    return {
      workflow: typeof values.workflowName === "string" ? values.workflowName : "enterprise_workflow",
      status,
      runStatus: RUN_STATUS[status],
      task: JSON.stringify(values.input ?? {}),
      reviewPoint: interrupts.map(approvalStep).find((step) => step !== null) ?? null,
    };
  },
  resumeOptions: () => [
    new Option("--role <role>", "engine approvals: the role you decide as (the step lists the roles that may)"),
    new Option("--changes <json>", "engine approvals: approve with these context values changed (a JSON object)"),
    new Option("--model <spec>", "engine threads: the model for the rest of the run (default as for 'workflow run')"),
  ],
  commands: async () => (await import("./thread_commands.js")).enterpriseWorkflowCommands,
};

/** For the engine's own commands (audit, pause, cancel): is this thread the engine's? */
export async function isEngineThread(db: { pool: pg.Pool; schema: string }, threadId: string): Promise<boolean> {
  return (await threadWorkflow(db, threadId)) === "enterprise_workflow";
}
