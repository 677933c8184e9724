import type { AdvancedWorkflow, WorkflowStep } from "./definition.js";
import {
  type AuditEntry,
  type EnterpriseState,
  type StepStatus,
  WORKFLOW_ERROR,
  type WorkflowStatus,
} from "./state.js";

/** Mermaid ids: letters, digits and _ only; step ids may hold . and -. */
const nodeId = (stepId: string) => `s_${stepId.replace(/[^A-Za-z0-9_]/g, "_")}`;
const label = (step: WorkflowStep) => `"${step.stepId}<br/><small>${step.stepType}</small>"`.replace(/[[\]{}]/g, "");

/** The definition as a mermaid flowchart: its steps, their dependencies, and each parallel step's children. */
export function definitionMermaid(workflow: AdvancedWorkflow): string {
  const lines = ["flowchart TD"];
  for (const step of workflow.steps) {
    if (step.parallelSteps.length) {
      lines.push(`  subgraph ${nodeId(step.stepId)}_group [${label(step)}]`, `    direction LR`);
      for (const child of step.parallelSteps) lines.push(`    ${nodeId(child.stepId)}[${label(child)}]`);
      lines.push("  end");
    }
    const shape =
      step.stepType === "conditional"
        ? `{${label(step)}}`
        : step.stepType === "loop"
          ? `((${label(step)}))`
          : `[${label(step)}]`;
    lines.push(`  ${nodeId(step.stepId)}${shape}`);
    if (step.parallelSteps.length) lines.push(`  ${nodeId(step.stepId)} --> ${nodeId(step.stepId)}_group`);
  }
  for (const step of workflow.steps) {
    for (const dependency of step.dependencies) lines.push(`  ${nodeId(dependency)} --> ${nodeId(step.stepId)}`);
  }
  return lines.join("\n");
}

export interface StepSummary {
  status: StepStatus;
  attempts: number;
  iterations: number;
  durationMs: number | null;
  /** Why the step failed, as the text view prints it. */
  error?: string;
}

export interface RunSummary {
  threadId: string;
  status: WorkflowStatus;
  /** The nodes LangGraph would run next: empty once the run is over. */
  next: string[];
  steps: Record<string, StepSummary>;
  /** Every error the run recorded: a step's, or the workflow's own (stepId "(workflow)"). */
  errors: { stepId: string; message: string }[];
  /** A run that ended FAILED, CANCELLED or TIMEOUT: its last error ("step: message" when a step's). */
  failureReason?: string;
}

const UNSUCCESSFUL: ReadonlySet<WorkflowStatus> = new Set(["FAILED", "CANCELLED", "TIMEOUT"]);

/** The `--json` result of a run: every step the run knows, nested children and subtasks included. */
export function runSummary(
  threadId: string,
  values: Pick<EnterpriseState, "status" | "steps" | "errors">,
  next: readonly string[],
): RunSummary {
  const steps = Object.fromEntries(
    Object.entries(values.steps ?? {}).map(([key, record]) => [
      key,
      {
        status: record.status,
        attempts: record.attempts ?? 0,
        iterations: record.iterations ?? 0,
        durationMs: record.durationMs ?? null,
        ...(record.error ? { error: record.error } : {}),
      },
    ]),
  );
  const errors = (values.errors ?? []).map(({ stepId, message }) => ({ stepId, message }));
  const last = errors[errors.length - 1];
  const reason = last && (last.stepId === WORKFLOW_ERROR ? last.message : `${last.stepId}: ${last.message}`);
  const failureReason = UNSUCCESSFUL.has(values.status) ? reason : undefined;
  return {
    threadId,
    status: values.status,
    next: [...next],
    steps,
    errors,
    ...(failureReason ? { failureReason } : {}),
  };
}

/** `orchestra audit THREAD`: one line per entry, oldest first: time, actor (the engine unless a person acted), event, step, detail. */
export function formatAuditTrail(entries: readonly AuditEntry[]): string {
  if (!entries.length) return "no audit entries";
  const rows = entries.map((entry) => [
    entry.at,
    entry.actor ?? "engine",
    entry.event,
    entry.stepId ?? "-",
    entry.detail ?? "",
  ]);
  const widths = [0, 1, 2, 3].map((column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows
    .map((row) =>
      row
        .map((cell, column) => (column < 4 ? cell.padEnd(widths[column]!) : cell))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}
