import { MERGE_SYNTHESIS, QUALITY_JUDGEMENT, TASK_ANALYSIS } from "../../state/parallel_workflow/outputs.js";
import { offTopicWhenWeak, type OfflineSkills } from "../offline/skills.js";
import { mergeSynthesis } from "./merge_synthesis.js";
import { qualityJudgement } from "./quality_judgement.js";
import { taskAnalysis } from "./task_analysis.js";

/**
 * The research workflow's skills for its structured outputs, keyed by tool name. What each reads
 * from the prompt, so prompts keep working offline when they change:
 * - task_analysis: tasks as JSON records with a `description` (and maybe `complexity`),
 *   `Task N:` lines, or the list under `Task queue:`.
 * - branch_findings: the shared skill (models/offline/skills.ts).
 * - merge_synthesis: blocks opened by a branch id (`## b1-research-technical`, `Branch <id>`,
 *   `"branchId": "<id>"`) holding `- claim (confidence x) Evidence: a | b` lines or JSON
 *   `claim` / `evidence` fields.
 * - quality_judgement: the task list, and the result's list items: primary findings, or
 *   evidence once under a `Supporting evidence:` heading.
 */
export const PARALLEL_WORKFLOW_SKILLS: OfflineSkills = {
  [TASK_ANALYSIS]: offTopicWhenWeak((prompt, seed) => taskAnalysis(prompt, seed)),
  [MERGE_SYNTHESIS]: offTopicWhenWeak((prompt) => mergeSynthesis(prompt)),
  [QUALITY_JUDGEMENT]: offTopicWhenWeak((prompt) => qualityJudgement(prompt)),
};

