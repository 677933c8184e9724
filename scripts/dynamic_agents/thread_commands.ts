import { Command, type StateSnapshot } from "@langchain/langgraph";
import type { Checkpointer } from "../../checkpoints/index.js";
import { withThreadLock } from "../../checkpoints/thread_lock.js";
import { dynamicAgents } from "../../graphs/dynamic_agents.js";
import { summariseAgents, summariseDynamicAgents, type AgentSummary } from "../../nodes/dynamic_agents/summary.js";
import type { DynamicAgentsStateType } from "../../state/dynamic_agents/state.js";
import { InputError } from "../../state/shared/errors.js";
import { parseReviewDecision, REVIEW_POINTS } from "../../state/shared/review.js";
import { closeRegisteredRun, pendingReviewPoint, streamRegisteredSteps } from "../registered_run.js";
import { makeOutput, reviewerName } from "../commands/shared.js";
import { fixed, table } from "../render.js";
import { existingSnapshot, threadConfig, threadHistory } from "../thread_state.js";
import { reviewedRunStatus, type ResumeOptions, type RunStatus, type WorkflowCommands } from "../workflow_cli.js";
import { taskOf } from "./task.js";
import { shellCommand } from "../shell_command.js";

/** What `show` prints of a dynamic agents thread: its standing, and one entry per agent. */
export interface DynamicAgentsThreadSummary {
  threadId: string;
  workflow: "dynamic_agents";
  status: RunStatus;
  reviewPoint: string | null;
  updatedAt: string;
  task: string;
  qualityScore: number | null;
  failureReason: string | null;
  agents: AgentSummary[];
  report: string | null;
}

function summaryOf(threadId: string, snapshot: StateSnapshot): DynamicAgentsThreadSummary {
  const values = snapshot.values as Partial<DynamicAgentsStateType>;
  const { status, qualityScore, report, failureReason } = summariseDynamicAgents(values);
  const reviewPoint = pendingReviewPoint(snapshot);
  return {
    threadId,
    workflow: "dynamic_agents",
    status: reviewedRunStatus(status, reviewPoint !== null, snapshot.tasks.length > 0),
    reviewPoint,
    updatedAt: snapshot.createdAt ?? "",
    task: taskOf(values.taskQueue),
    qualityScore,
    failureReason: failureReason ?? null,
    agents: summariseAgents(values.agents ?? {}, values.agentResults ?? {}),
    report,
  };
}

function renderSummary(s: DynamicAgentsThreadSummary): string {
  const lines = [
    `Thread ${s.threadId} — ${s.status}${s.reviewPoint ? ` at ${s.reviewPoint}` : ""}${s.qualityScore === null ? "" : `, quality ${fixed(s.qualityScore)}`}`,
    `Workflow: dynamic_agents · task: ${s.task}`,
  ];
  if (s.failureReason) lines.push(`Ended: ${s.failureReason}`);
  if (s.status === "interrupted")
    lines.push(
      `Waiting for review: ${shellCommand("orchestra", "resume", s.threadId)} --approve | --reject | --feedback TEXT`,
    );
  if (s.status === "running")
    lines.push(
      `Unfinished and not paused: if no process is running it, \`${shellCommand("orchestra", "resume", s.threadId)}\` continues it`,
    );
  lines.push("", "Agents");
  lines.push(
    ...table(
      ["AGENT", "TYPE", "CAPABILITIES", "SCORE", "STATUS", "ERROR"],
      s.agents.map((a) => [
        a.agentId,
        a.agentType ?? "-",
        a.capabilities.join(", "),
        fixed(a.score),
        a.status,
        a.error ?? "",
      ]),
    ).map((line) => `  ${line}`),
  );
  lines.push("", "Report", s.report ?? "  not written yet");
  return lines.join("\n");
}

/**
 * Continues a dynamic agents thread: answers its review (the shared review step's approve, reject
 * or feedback), or picks it up after a crash. A line per step, as its run prints them.
 */
async function resume(db: Checkpointer, threadId: string, options: ResumeOptions): Promise<number> {
  if (options.role !== undefined || options.changes !== undefined)
    throw new InputError("--role and --changes answer engine approvals: this thread is a dynamic_agents thread");
  if (options.edit !== undefined)
    throw new InputError(
      "--edit is for research threads: answer a dynamic_agents review with --approve, --reject or --feedback TEXT",
    );
  const chosen = [
    options.approve && "approve",
    options.reject && "reject",
    options.feedback !== undefined && "feedback",
  ].filter(Boolean);
  if (chosen.length > 1) throw new InputError("give at most one of --approve, --reject, --feedback");
  const reviewer = reviewerName(options);
  const decision = chosen.length
    ? parseReviewDecision({
        action: chosen[0],
        reviewer,
        ...(options.feedback !== undefined ? { feedback: options.feedback } : {}),
      })
    : undefined;
  const workflow = dynamicAgents.compile(db.checkpointer);
  const { line } = makeOutput(options);
  const thread = threadConfig(threadId);
  const { summary, review } = await withThreadLock(db, threadId, async () => {
    const current = summaryOf(threadId, await existingSnapshot(workflow, threadId));
    if (current.status === "interrupted" && !decision) {
      throw new InputError(
        `thread ${threadId} is waiting for review at ${current.reviewPoint}: pass --approve, --reject or --feedback TEXT`,
      );
    }
    if (current.status !== "interrupted") {
      if (current.status !== "running")
        throw new InputError(`thread ${threadId} has already finished (${current.status}): nothing to resume`);
      if (decision) throw new InputError(`thread ${threadId} is not waiting for review: resume it without a decision`);
    }
    line(`thread ${threadId} · resumed by ${reviewer}`);
    await streamRegisteredSteps(workflow, decision ? new Command({ resume: decision }) : null, thread, line);
    const snapshot = await workflow.getState(thread);
    return { summary: dynamicAgents.summarise(snapshot.values), review: pendingReviewPoint(snapshot) };
  });
  return closeRegisteredRun(options, { threadId, workflow: "dynamic_agents", summary, review });
}

export const dynamicAgentsCommands: WorkflowCommands = {
  show: async (db, threadId, options) => {
    const summary = summaryOf(threadId, await existingSnapshot(dynamicAgents.compile(db.checkpointer), threadId));
    return options.json ? JSON.stringify(summary) : renderSummary(summary);
  },
  history: (db, threadId) =>
    threadHistory(dynamicAgents.compile(db.checkpointer), threadId, { branchNodes: [], reviewPoints: REVIEW_POINTS }),
  report: async (db, threadId) =>
    summaryOf(threadId, await existingSnapshot(dynamicAgents.compile(db.checkpointer), threadId)),
  resume,
  replay: async () => {
    throw new InputError(
      "replay is for research and engine threads: a dynamic_agents thread resumes with 'orchestra resume THREAD'",
    );
  },
};
