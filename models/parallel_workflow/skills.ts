import { TASK_ANALYSIS } from "../../state/parallel_workflow/outputs.js";
import { offTopicWhenWeak, type OfflineSkills } from "../offline/skills.js";
import { taskAnalysis } from "./task_analysis.js";

/**
 * The research workflow's skills for its structured outputs, keyed by tool name. What each reads
 * from the prompt (nodes/parallel_workflow/prompts.ts writes it):
 * - task_analysis: tasks as JSON records with a `description` (and maybe `complexity`) under the
 *   task-queue heading of state/shared/prompt_labels.ts, `Task N:` lines, or any numbered list.
 * - branch_findings, merge_synthesis, quality_judgement: the shared skills (models/offline/skills.ts).
 */
export const PARALLEL_WORKFLOW_SKILLS: OfflineSkills = {
  [TASK_ANALYSIS]: offTopicWhenWeak((prompt, seed) => taskAnalysis(prompt, seed)),
};
