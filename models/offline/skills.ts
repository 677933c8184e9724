import { BRANCH_FINDINGS } from "../../state/shared/findings.js";
import { CITED_FINDINGS } from "../../state/shared/citations.js";
import { MERGE_SYNTHESIS, QUALITY_JUDGEMENT } from "../../state/shared/merge.js";
import { mergeSynthesis } from "./merge_synthesis.js";
import { qualityJudgement } from "./quality_judgement.js";
import { branchFindings } from "./branch_findings.js";
import { fillSchema, type JsonSchema } from "./schema_fill.js";
import { clip, keywords, offTopicPrompt, sentences, type Prompt } from "./text.js";
import { citedFindings } from "./tool_use.js";

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
export const offTopicWhenWeak =
  (answer: (prompt: Prompt, seed: number, schema: JsonSchema) => object): Skill =>
  (prompt, seed, schema, weak) =>
    answer(weak ? offTopicPrompt(seed) : prompt, seed, schema);

/** Skills keyed by the tool name they answer. */
export type OfflineSkills = Readonly<Record<string, Skill>>;

/**
 * The skills every workflow shares. What each reads from the prompt is written there by the
 * prompt builders (nodes/shared/prompts.ts, nodes/<workflow>/prompts.ts) under the labels and
 * headings of state/shared/prompt_labels.ts, which both sides import:
 * - branch_findings: the objective, the research focus or analysis type, the data sources, the
 *   task queue, `- <id>: <summary>` lines of prior results, the feedback to address, the findings
 *   cap and a reduced scope.
 * - merge_synthesis: blocks opened by a branch id (`## b1-research-technical`, `Branch <id>`,
 *   `"branchId": "<id>"`) holding a summary and `- claim (confidence x) Evidence: a | b` lines, or
 *   JSON `claim` / `evidence` fields.
 * - quality_judgement: the task queue, and the result's list items: primary findings, or
 *   evidence once under the supporting-evidence heading.
 * - cited_findings: the objective or question, and the tool results (JSON) in the conversation.
 */
export const SHARED_SKILLS: OfflineSkills = {
  [BRANCH_FINDINGS]: (prompt, seed, _schema, weak) => branchFindings(prompt, seed, weak),
  [CITED_FINDINGS]: offTopicWhenWeak((prompt) => citedFindings(prompt)),
  [MERGE_SYNTHESIS]: offTopicWhenWeak((prompt) => mergeSynthesis(prompt)),
  [QUALITY_JUDGEMENT]: offTopicWhenWeak((prompt) => qualityJudgement(prompt)),
};

/**
 * The shared skills and every workflow's own, as one table: the model factory's set-up passes it
 * to the offline model (models/index.ts). A tool name two workflows answer is refused: one name,
 * one answer.
 */
export function offlineSkillTable(workflowSkills: readonly OfflineSkills[]): OfflineSkills {
  const table: Record<string, Skill> = { ...SHARED_SKILLS };
  for (const skills of workflowSkills) {
    for (const [name, skill] of Object.entries(skills)) {
      if (table[name] && table[name] !== skill) throw new Error(`offline skill '${name}' is answered by two workflows`);
      table[name] = skill;
    }
  }
  return table;
}

/** The tool's arguments: its skill's answer, or the schema filled from the prompt. */
export function runSkill(
  skills: OfflineSkills,
  name: string,
  prompt: Prompt,
  seed: number,
  schema: JsonSchema,
  weak: boolean,
): object {
  const skill = skills[name] ?? offTopicWhenWeak(fillSchema);
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
