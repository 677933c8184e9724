import type { Task } from "../../state/parallel_workflow/input.js";
import type { BranchInput } from "../../state/parallel_workflow/workflow.js";
import {
  PROMPT_LABELS,
  REDUCED_SCOPE,
  findingsCap,
  headingLine,
  labelLine,
  PROMPT_HEADINGS,
} from "../../state/shared/prompt_labels.js";
import { numbered, sourcesBrief, taskQueueSection } from "../shared/prompts.js";

/**
 * The research workflow's prompts: the planner's and the branches' briefs. A branch's role (its
 * system prompt) is a column of its row in state/parallel_workflow/branches.ts. The labels the
 * offline skills read come from state/shared/prompt_labels.ts (docs/decisions/0022-prompt-labels.md).
 */

export const TASK_ANALYZER_SYSTEM_PROMPT =
  "You plan a parallel multi-agent workflow. Score the task queue's complexity and the " +
  "interdependency of its parts (0..1), and plan the branches that will work on it: research " +
  "branches with a focus of technical, market or competitive, and analysis branches with an " +
  "analysis type, a priority (high or normal) and data sources. Give every branch an objective.";

/** The planner's request: each task as its JSON record, so stated complexities and domains reach the plan. */
export const taskAnalysisPrompt = (tasks: readonly Task[]) =>
  [headingLine(PROMPT_HEADINGS.taskQueue), ...numbered(tasks.map((task) => JSON.stringify(task)))].join("\n");

/** A branch's brief: its objective through its focus or analysis type, the tasks, what came before, and what to return. */
export function branchPrompt(input: BranchInput): string {
  const { allocation } = input;
  const lines = [
    `Branch ${allocation.branchId} (attempt ${allocation.attempt}).`,
    labelLine(PROMPT_LABELS.objective, allocation.objective),
    allocation.focus
      ? labelLine(PROMPT_LABELS.researchFocus, allocation.focus)
      : labelLine(PROMPT_LABELS.analysisType, `${allocation.analysisType}`),
    `Priority: ${allocation.priority}`,
  ];
  if (allocation.dataSources.length)
    lines.push(labelLine(PROMPT_LABELS.dataSources, allocation.dataSources.join(", ")));
  lines.push("", taskQueueSection(input.taskQueue));
  if (input.priorResults.length) {
    lines.push(
      "",
      "Results of the branches before this one:",
      ...input.priorResults.map((r) => `- ${r.branchId}: ${r.summary}`),
    );
  }
  if (allocation.feedback) lines.push("", labelLine(PROMPT_LABELS.feedback, allocation.feedback));
  const reduced = allocation.scope === "reduced" ? ` Keep to the core question: this is a ${REDUCED_SCOPE} retry.` : "";
  lines.push(
    "",
    `Return ${findingsCap(allocation.resources.maxFindings)}, each with concrete evidence and a confidence.${reduced}`,
  );
  return lines.join("\n");
}

/**
 * A branch's brief to its tool loop: its role, the question the sources must answer (the task
 * itself; the branch's objective is its angle on it), then its brief.
 */
export const branchSourcesBrief = (role: string, input: BranchInput) =>
  sourcesBrief(
    role,
    labelLine(PROMPT_LABELS.question, input.taskQueue.map((t) => t.description).join(" ")),
    branchPrompt(input),
  );
