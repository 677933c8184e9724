import { TASK_ANALYSIS } from "../../state/parallel_workflow/outputs.js";
import { offTopicWhenWeak, type OfflineSkills } from "../offline/skills.js";
import { taskAnalysis } from "./task_analysis.js";

/**
 * The research workflow's skills for its structured outputs, keyed by tool name. What each reads
 * from the prompt, so prompts keep working offline when they change:
 * - task_analysis: tasks as JSON records with a `description` (and maybe `complexity`),
 *   `Task N:` lines, or the list under `Task queue:`.
 * - branch_findings, merge_synthesis, quality_judgement: the shared skills (models/offline/skills.ts).
 */
export const PARALLEL_WORKFLOW_SKILLS: OfflineSkills = {
  [TASK_ANALYSIS]: offTopicWhenWeak((prompt, seed) => taskAnalysis(prompt, seed)),
};

