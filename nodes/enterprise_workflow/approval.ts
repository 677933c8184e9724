import { Command, interrupt } from "@langchain/langgraph";
import { z } from "zod";
import type { EnterpriseState, EnterpriseUpdate } from "../../state/enterprise_workflow/state.js";
import type { ApprovalRequest, ApprovalTask } from "./tasks.js";

/**
 * An answer to an approval question, given as the resume value. Always an object: LangGraph drops
 * a falsy resume value, so a bare `false` for "reject" would never arrive.
 */
export const ApprovalDecisionSchema = z
  .object({
    decision: z.enum(["approve", "reject", "approve_with_changes"]),
    reviewer: z.string().trim().min(1, "name the reviewer"),
    role: z.string().trim().min(1).optional(),
    /** approve_with_changes: context values replaced before the workflow goes on. */
    changes: z.record(z.string().min(1), z.unknown()).optional(),
    comment: z.string().optional(),
  })
  .strict()
  .refine((answer) => answer.decision !== "approve_with_changes" || (answer.changes && Object.keys(answer.changes).length > 0), {
    message: "approve_with_changes needs changes",
  });
export type ApprovalDecision = z.infer<typeof ApprovalDecisionSchema>;

/** The resume value that answers an approval question (CLI, API and terminal prompt alike). */
export const approvalCommand = (decision: ApprovalDecision) => new Command({ resume: decision });

/** Why the answer may not decide this step, or undefined when it may: the user must be allowed, and hold one of the step's roles. */
export function approverRefusal(request: Pick<ApprovalRequest, "approvers" | "allowedUsers">, answer: ApprovalDecision): string | undefined {
  if (request.allowedUsers.length && !request.allowedUsers.includes(answer.reviewer)) {
    return `${answer.reviewer} is not an allowed user of this workflow (allowed: ${request.allowedUsers.join(", ")})`;
  }
  if (request.approvers.length && (answer.role === undefined || !request.approvers.includes(answer.role))) {
    return `${answer.reviewer}${answer.role ? ` (${answer.role})` : " (no role)"} may not decide; needs role ${request.approvers.join(" or ")}`;
  }
  return undefined;
}

/**
 * The step's outcome from the reviewer's answer. A refused or unreadable answer puts the step back
 * to PENDING, so the orchestrator asks again; approve completes it (with changes merged into the
 * context); reject fails it. Either way the wait moves the workflow's deadline by as long.
 */
export function approvalOutcome(task: ApprovalTask, answer: unknown, now: number): EnterpriseUpdate {
  const at = new Date(now).toISOString();
  const waitedMs = Math.max(0, now - Date.parse(task.askedAt));
  const common: EnterpriseUpdate = { status: "RUNNING", deadline: new Date(Date.parse(task.deadline) + waitedMs).toISOString() };
  const parsed = ApprovalDecisionSchema.safeParse(answer);
  const refusal = parsed.success ? approverRefusal(task.request, parsed.data) : `answer not understood: ${parsed.error.issues[0]!.message}`;
  if (!parsed.success || refusal !== undefined) {
    return {
      ...common,
      steps: { [task.key]: { status: "PENDING", refusals: task.refusals + 1, reason: refusal } },
      auditTrail: [{ at, event: "approval_refused", stepId: task.key, actor: parsed.success ? parsed.data.reviewer : "unknown", detail: refusal }],
    };
  }
  const { decision, reviewer, role, changes, comment } = parsed.data;
  const actor = role ? `${reviewer} (${role})` : reviewer;
  const record = { finishedAt: at, durationMs: now - Date.parse(task.askedAt), refusals: task.refusals };
  const output = { decision, reviewer, ...(role ? { role } : {}), ...(comment ? { comment } : {}), ...(changes ? { changes } : {}) };
  if (decision === "reject") {
    const error = `rejected by ${actor}${comment ? `: ${comment}` : ""}`;
    return {
      ...common,
      steps: { [task.key]: { ...record, status: "FAILED", error } },
      intermediateResults: { [task.key]: output },
      failedSteps: [task.key],
      errors: [{ stepId: task.key, message: error, at }],
      auditTrail: [{ at, event: "approval_rejected", stepId: task.key, actor, ...(comment ? { detail: comment } : {}) }],
    };
  }
  return {
    ...common,
    steps: { [task.key]: { ...record, status: "COMPLETED" } },
    intermediateResults: { [task.key]: output },
    context: changes ?? {},
    completedSteps: [task.key],
    stepTimings: { [task.key]: record.durationMs },
    auditTrail: [
      {
        at,
        event: decision === "approve" ? "approval_granted" : "approval_granted_with_changes",
        stepId: task.key,
        actor,
        ...(changes ? { detail: `changed ${Object.keys(changes).join(", ")}` } : comment ? { detail: comment } : {}),
      },
    ],
  };
}

/** The approval worker: asks with interrupt(); the node runs again with the answer when the thread is resumed. */
export function approvalWorker(task: ApprovalTask): EnterpriseUpdate {
  const answer: unknown = interrupt(task.request);
  return approvalOutcome(task, answer, Date.now());
}

/** What a paused thread's interrupt shows. */
export interface PausedNotice {
  kind: "paused";
  actor: string;
  pausedAt: string;
}

const ResumeSchema = z.object({ actor: z.string().trim().min(1) }).loose();

/** The resume value that continues a paused thread. */
export const resumePausedCommand = (actor: string) => new Command({ resume: { actor } });

/** A paused run waits here, between two orchestrator turns, until resumed; then it goes on from where it stopped. */
export function pauseGate(state: EnterpriseState): EnterpriseUpdate {
  const paused = [...state.auditTrail].reverse().find((entry) => entry.event === "workflow_paused");
  const notice: PausedNotice = { kind: "paused", actor: paused?.actor ?? "unknown", pausedAt: paused?.at ?? "" };
  const answer = ResumeSchema.safeParse(interrupt(notice));
  return {
    status: state.rollback ? "ROLLBACK" : "RUNNING",
    auditTrail: [{ at: new Date().toISOString(), event: "workflow_resumed", actor: answer.success ? answer.data.actor : "unknown" }],
  };
}
