import { MERGE_SYNTHESIS, QUALITY_JUDGEMENT, TASK_ANALYSIS } from "../../state/parallel_workflow/outputs.js";
import { BRANCH_FINDINGS } from "../../state/shared/findings.js";
import { branchFindings } from "./branch_findings.js";
import { mergeSynthesis } from "../parallel_workflow/merge_synthesis.js";
import { qualityJudgement } from "../parallel_workflow/quality_judgement.js";
import { fillSchema, type JsonSchema } from "./schema_fill.js";
import { taskAnalysis } from "../parallel_workflow/task_analysis.js";
import { clip, keywords, offTopicPrompt, sentences, type Prompt } from "./text.js";

export type { JsonSchema } from "./schema_fill.js";
export type { Prompt } from "./text.js";

/**
 * Answers one tool from the prompt; the result must satisfy the tool's schema. A weak answer
 * (the fault plan's `weak`) is shallow and off-topic.
 */
export type Skill = (prompt: Prompt, seed: number, schema: JsonSchema, weak: boolean) => object;

/**
 * A skill whose weak answer is its answer to an off-topic remark: a plan, a merge or a
 * judgement of something else. Branch findings are weak their own way, so that their
 * confidences are still read against the real brief.
 */
const offTopicWhenWeak =
  (answer: (prompt: Prompt, seed: number, schema: JsonSchema) => object): Skill =>
  (prompt, seed, schema, weak) =>
    answer(weak ? offTopicPrompt(seed) : prompt, seed, schema);

/**
 * The skills for the app's own structured outputs, keyed by tool name. What each reads
 * from the prompt, so prompts keep working offline when they change:
 * - task_analysis: tasks as JSON records with a `description` (and maybe `complexity`),
 *   `Task N:` lines, or the list under `Task queue:`.
 * - branch_findings: `Objective:`, `Research focus:` / `Analysis type:`, `Data sources:`,
 *   the task list, `- <branch id>: <summary>` lines, `Feedback to address:`,
 *   "at most N findings" and "reduced-scope".
 * - merge_synthesis: blocks opened by a branch id (`## b1-research-technical`, `Branch <id>`,
 *   `"branchId": "<id>"`) holding `- claim (confidence x) Evidence: a | b` lines or JSON
 *   `claim` / `evidence` fields.
 * - quality_judgement: the task list, and the result's list items: primary findings, or
 *   evidence once under a `Supporting evidence:` heading.
 */
export const SKILLS: Readonly<Record<string, Skill>> = {
  [TASK_ANALYSIS]: offTopicWhenWeak((prompt, seed) => taskAnalysis(prompt, seed)),
  [BRANCH_FINDINGS]: (prompt, seed, _schema, weak) => branchFindings(prompt, seed, weak),
  [MERGE_SYNTHESIS]: offTopicWhenWeak((prompt) => mergeSynthesis(prompt)),
  [QUALITY_JUDGEMENT]: offTopicWhenWeak((prompt) => qualityJudgement(prompt)),
};

/** The tool's arguments: its skill's answer, or the schema filled from the prompt. */
export function runSkill(name: string, prompt: Prompt, seed: number, schema: JsonSchema, weak: boolean): object {
  const skill = SKILLS[name] ?? offTopicWhenWeak(fillSchema);
  return skill(prompt, seed, schema, weak);
}

/** A plain answer: the sentences of the last message that carry most of its vocabulary. */
export function extractiveSummary(given: Prompt, seed: number, weak: boolean): string {
  const prompt = weak ? offTopicPrompt(seed) : given;
  const source = prompt.last || prompt.material || prompt.text;
  const all = sentences(source);
  if (!all.length) return clip(source, 300) || "(empty prompt)";
  const weight = new Map(keywords(source, 30).map((word, i) => [word, 30 - i]));
  const score = (sentence: string) =>
    keywords(sentence, 30).reduce((sum, word) => sum + (weight.get(word) ?? 0), 0) / Math.sqrt(sentence.length);
  const chosen = new Set([...all].sort((a, b) => score(b) - score(a)).slice(0, 3));
  return all
    .filter((s) => chosen.has(s))
    .map((s) => clip(s, 240))
    .join(" ");
}
