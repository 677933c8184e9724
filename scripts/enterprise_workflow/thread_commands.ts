import { withThreadLock } from "../../checkpoints/thread_lock.js";
import { approvalCommand, resumePausedCommand } from "../../nodes/enterprise_workflow/approval.js";
import { summariseEnterprise } from "../../state/enterprise_workflow/summary.js";
import { InputError } from "../../state/shared/errors.js";
import { makeOutput, printJson, reviewerName, terminal } from "../commands/shared.js";
import { existingSnapshot, threadHistory } from "../thread_state.js";
import type { ReplayOptions, ResumeOptions, WorkflowCommands } from "../workflow_cli.js";
import { closingLine, exitCodeOf } from "./commands/workflow.js";
import {
  approvalLines,
  decisionFromFlags,
  driveEngine,
  openEngine,
  renderEngineSummary,
  summariseEngineThread,
  terminalDecider,
  waitingFor,
} from "./engine.js";
import type { Checkpointer } from "../../checkpoints/index.js";
import { shellCommand } from "../shell_command.js";

/** `orchestra resume`'s options, with those the engine's CLI adds (cli.ts). */
interface EngineResumeOptions extends ResumeOptions {
  role?: string;
  changes?: string;
  model?: string;
}

/**
 * An engine thread resumed: an approval answered (flags, or the terminal prompt), a pause lifted,
 * or a crashed run continued.
 */
async function resume(db: Checkpointer, threadId: string, options: EngineResumeOptions): Promise<number> {
  if (options.feedback !== undefined || options.edit !== undefined)
    throw new InputError(
      "--feedback and --edit are for research threads: answer an engine approval with --approve or --reject (--changes JSON) and --role",
    );
  const { engine } = await openEngine(db);
  const reviewer = reviewerName(options);
  const decision = decisionFromFlags({ ...options, reviewer });
  const { line } = makeOutput(options);
  const decide = terminal(options) && process.stdin.isTTY ? terminalDecider(reviewer, options.role) : undefined;
  const summary = await withThreadLock(db, threadId, async () => {
    const waiting = await waitingFor(engine, threadId);
    let start = null;
    if (waiting?.kind === "approval") {
      let answer = decision;
      if (!answer && decide) {
        for (const text of approvalLines(waiting.request, waiting.askedBy)) line(text);
        answer = await decide(waiting.request);
      }
      if (!answer)
        throw new InputError(
          `thread ${threadId} waits for approval at ${waiting.request.stepId}: give --approve or --reject with --role ${waiting.request.approvers[0] ?? "ROLE"} (and --reviewer NAME)`,
        );
      start = approvalCommand(answer);
    } else if (decision) {
      throw new InputError(
        `thread ${threadId} is not waiting for an approval${waiting ? " (it is paused)" : ""}: resume it without --approve or --reject`,
      );
    } else if (waiting?.kind === "paused") start = resumePausedCommand(reviewer);
    line(`thread ${threadId} · resumed by ${reviewer}`);
    return driveEngine(engine, threadId, start, {
      line,
      ...(options.model ? { model: options.model } : {}),
      ...(decide ? { decide } : {}),
    });
  });
  line(closingLine(summary));
  if (options.json) printJson(summary);
  return exitCodeOf(summary.status);
}

/** An engine thread forks at the checkpoint and runs on, with a line per step, to its next stop. */
async function replay(db: Checkpointer, threadId: string, options: ReplayOptions): Promise<number> {
  if (options.review)
    throw new InputError("--review is for research threads: an engine thread asks at its approval steps");
  const { engine } = await openEngine(db);
  const at = await engine.getState({ configurable: { thread_id: threadId, checkpoint_id: options.checkpoint } });
  if (!at.createdAt)
    throw new InputError(
      `thread ${threadId} has no checkpoint ${options.checkpoint}: \`${shellCommand("orchestra", "history", threadId)}\` lists them`,
    );
  const { line } = makeOutput(options);
  const summary = await withThreadLock(db, threadId, () => {
    line(`thread ${threadId} · replaying from checkpoint ${options.checkpoint}`);
    return driveEngine(engine, threadId, null, { line, checkpointId: options.checkpoint });
  });
  line(closingLine(summary));
  if (options.json) printJson(summary);
  return exitCodeOf(summary.status);
}

export const enterpriseWorkflowCommands: WorkflowCommands = {
  show: async (db, threadId, options) => {
    const summary = await summariseEngineThread((await openEngine(db)).engine, threadId);
    return options.json ? JSON.stringify(summary) : renderEngineSummary(summary);
  },
  history: async (db, threadId) =>
    threadHistory((await openEngine(db)).engine, threadId, { branchNodes: [], reviewPoints: [] }),
  report: async (db, threadId) => {
    const { engine } = await openEngine(db);
    const snapshot = await existingSnapshot(engine, threadId);
    const waiting = await waitingFor(engine, threadId);
    const { status, report } = summariseEnterprise(snapshot.values);
    return { status, report, reviewPoint: waiting?.kind === "approval" ? waiting.request.stepId : null };
  },
  resume,
  replay,
};
