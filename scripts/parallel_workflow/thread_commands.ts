import { compileWorkflow } from "../../graphs/parallel_workflow.js";
import type { Checkpointer } from "../../checkpoints/index.js";
import { InputError } from "../../state/shared/errors.js";
import { parseReviewDecision, REVIEW_POINTS } from "../../state/shared/review.js";
import { BRANCH_NODES } from "../../state/parallel_workflow/workflow.js";
import { readJsonFile, reviewerName } from "../commands/shared.js";
import { threadHistory } from "../thread_state.js";
import type { ResumeOptions, WorkflowCommands } from "../workflow_cli.js";
import { summariseThread } from "./inspect.js";
import { liveRun } from "./live_run.js";
import { renderSummary } from "./render.js";
import { replayRun, resumeRun } from "./runner.js";
import { runResearch } from "./run.js";
import { shellCommand } from "../shell_command.js";

/** The thread commands on a research thread. */

async function resume(db: Checkpointer, threadId: string, options: ResumeOptions): Promise<number> {
  if (options.role !== undefined || options.changes !== undefined)
    throw new InputError("--role and --changes answer engine approvals: this thread is a research thread");
  const chosen = [
    options.approve && "approve",
    options.reject && "reject",
    options.feedback !== undefined && "feedback",
    options.edit !== undefined && "edit",
  ].filter(Boolean);
  if (chosen.length > 1) throw new InputError("give at most one of --approve, --reject, --feedback, --edit");
  const edit =
    options.edit !== undefined
      ? {
          edit: await readJsonFile(
            "--edit",
            options.edit,
            `start from \`${shellCommand("orchestra", "show", threadId)} --json | jq .reviewable\``,
          ),
          reviewer: reviewerName(options),
        }
      : undefined;
  const decision =
    chosen.length && chosen[0] !== "edit"
      ? parseReviewDecision({
          action: chosen[0],
          reviewer: reviewerName(options),
          ...(options.feedback !== undefined ? { feedback: options.feedback } : {}),
        })
      : undefined;
  return liveRun(db, options, { id: threadId }, ({ workflow, drive }) =>
    resumeRun(workflow, db, { threadId, ...(decision ? { decision } : {}), ...(edit ? { edit } : {}) }, drive),
  );
}

export const parallelWorkflowCommands: WorkflowCommands = {
  show: async (db, threadId, options) => {
    const summary = await summariseThread(compileWorkflow(db.checkpointer), threadId);
    return options.json ? JSON.stringify(summary) : renderSummary(summary, options.color);
  },
  history: (db, threadId) =>
    threadHistory(compileWorkflow(db.checkpointer), threadId, {
      branchNodes: BRANCH_NODES,
      reviewPoints: REVIEW_POINTS,
    }),
  report: (db, threadId) => summariseThread(compileWorkflow(db.checkpointer), threadId),
  resume,
  run: runResearch,
  replay: (db, threadId, options) =>
    liveRun(db, options, { id: threadId }, ({ workflow, drive }) =>
      replayRun(
        workflow,
        db,
        { threadId, checkpointId: options.checkpoint, ...(options.review ? { review: options.review } : {}) },
        drive,
      ),
    ),
};
