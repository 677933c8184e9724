import type { LangGraphRunnableConfig } from "@langchain/langgraph";
import { Command, interrupt } from "@langchain/langgraph";
import { z } from "zod";
import type { AuditIdentity, EnterpriseState, EnterpriseUpdate } from "../../state/enterprise_workflow/state.js";
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
  .refine(
    (answer) =>
      answer.decision !== "approve_with_changes" || (answer.changes && Object.keys(answer.changes).length > 0),
    {
      message: "approve_with_changes needs changes",
    },
  );
export type ApprovalDecision = z.infer<typeof ApprovalDecisionSchema>;

/** The resume value that answers an approval question (CLI, API and terminal prompt alike). */
export const approvalCommand = (decision: ApprovalDecision) => new Command({ resume: decision });

/**
 * The user the server authenticated for this run, as LangGraph's server hands it to nodes
 * (`configurable.langgraph_auth_user`); a token's user carries its issuer and roles, an Auth
 * module's user its permissions, which then count as its roles.
 */
const AuthUserSchema = z
  .object({
    identity: z.string().min(1),
    permissions: z.array(z.string()).default([]),
    issuer: z.string().optional(),
    roles: z.array(z.string()).optional(),
  })
  .loose();

/** Who the server verified is answering, or undefined when the answer is declared (the CLI, or a server without auth). */
export function verifiedApprover(config: LangGraphRunnableConfig | undefined): AuditIdentity | undefined {
  const parsed = AuthUserSchema.safeParse(config?.configurable?.langgraph_auth_user);
  if (!parsed.success) return undefined;
  const { identity, issuer, roles, permissions } = parsed.data;
  return { source: "verified", subject: identity, ...(issuer ? { issuer } : {}), roles: roles ?? permissions };
}

/**
 * The answer as the verified approver gives it: the reviewer is the approver, and the role one the
 * token grants (the role named, else the first the step accepts); a role named but not granted is
 * kept, to be refused by name.
 */
export function answerAsVerified(
  answer: unknown,
  approver: AuditIdentity,
  approvers: readonly string[],
): { answer: unknown; refusal?: string } {
  if (typeof answer !== "object" || answer === null) return { answer };
  const named = "role" in answer && typeof answer.role === "string" ? answer.role : undefined;
  const role = named ?? approvers.find((wanted) => approver.roles.includes(wanted));
  const asVerified = { ...answer, reviewer: approver.subject, ...(role ? { role } : {}) };
  if (named !== undefined && !approver.roles.includes(named)) {
    return {
      answer: asVerified,
      refusal: `${approver.subject} names role ${named}, which the token does not grant (granted: ${approver.roles.join(", ") || "none"})`,
    };
  }
  return { answer: asVerified };
}

/** Why the answer may not decide this step, or undefined when it may: the user must be allowed, and hold one of the step's roles. */
export function approverRefusal(
  request: Pick<ApprovalRequest, "approvers" | "allowedUsers">,
  answer: ApprovalDecision,
): string | undefined {
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
export function approvalOutcome(
  task: ApprovalTask,
  given: unknown,
  now: number,
  approver?: AuditIdentity,
): EnterpriseUpdate {
  const at = new Date(now).toISOString();
  const waitedMs = Math.max(0, now - Date.parse(task.askedAt));
  const common: EnterpriseUpdate = {
    status: "RUNNING",
    deadline: new Date(Date.parse(task.deadline) + waitedMs).toISOString(),
  };
  const { answer, refusal: ungranted } = approver
    ? answerAsVerified(given, approver, task.request.approvers)
    : { answer: given };
  const parsed = ApprovalDecisionSchema.safeParse(answer);
  const refusal = parsed.success
    ? (ungranted ?? approverRefusal(task.request, parsed.data))
    : `answer not understood: ${parsed.error.issues[0]!.message}`;
  const identity: AuditIdentity | undefined =
    approver ??
    (parsed.success
      ? { source: "declared", subject: parsed.data.reviewer, roles: parsed.data.role ? [parsed.data.role] : [] }
      : undefined);
  const who = identity ? { identity } : {};
  if (!parsed.success || refusal !== undefined) {
    return {
      ...common,
      steps: { [task.key]: { status: "PENDING", refusals: task.refusals + 1, reason: refusal } },
      auditTrail: [
        {
          at,
          event: "approval_refused",
          stepId: task.key,
          actor: parsed.success ? parsed.data.reviewer : "unknown",
          detail: refusal,
          ...who,
        },
      ],
    };
  }
  const { decision, reviewer, role, changes, comment } = parsed.data;
  const actor = role ? `${reviewer} (${role})` : reviewer;
  const record = { finishedAt: at, durationMs: now - Date.parse(task.askedAt), refusals: task.refusals };
  const output = {
    decision,
    reviewer,
    ...(role ? { role } : {}),
    ...(comment ? { comment } : {}),
    ...(changes ? { changes } : {}),
  };
  if (decision === "reject") {
    const error = `rejected by ${actor}${comment ? `: ${comment}` : ""}`;
    return {
      ...common,
      steps: { [task.key]: { ...record, status: "FAILED", error } },
      intermediateResults: { [task.key]: output },
      failedSteps: [task.key],
      errors: [{ stepId: task.key, message: error, at }],
      auditTrail: [
        { at, event: "approval_rejected", stepId: task.key, actor, ...(comment ? { detail: comment } : {}), ...who },
      ],
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
        ...who,
      },
    ],
  };
}

/**
 * The approval worker: asks with interrupt(); the node runs again with the answer when the thread
 * is resumed, in the resuming run's config, so the approver is whoever the server verified for it.
 */
export function approvalWorker(task: ApprovalTask, config?: LangGraphRunnableConfig): EnterpriseUpdate {
  const answer: unknown = interrupt(task.request);
  return approvalOutcome(task, answer, Date.now(), verifiedApprover(config));
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
    auditTrail: [
      {
        at: new Date().toISOString(),
        event: "workflow_resumed",
        actor: answer.success ? answer.data.actor : "unknown",
      },
    ],
  };
}
