import { RUBRIC_KEYS, type QualityJudgement } from "../../state/shared/merge.js";
import { PROMPT_HEADINGS } from "../../state/shared/prompt_labels.js";
import {
  anyOf,
  branchIds,
  clamp,
  isOnTopic,
  jsonStrings,
  quote,
  round2,
  sharedStems,
  statedTasks,
  subjectStems,
  unquoted,
  type Prompt,
} from "./text.js";

/** What the judged result holds, read from its sections or from JSON fields. */
interface Reading {
  statements: string[];
  evidence: string[];
  prose: string[];
  sources: number;
  /** Listed findings that name no branch id; JSON findings carry theirs in a separate field. */
  unsourced: number;
}

const RUBRIC_LINE = new RegExp(`^(?:${RUBRIC_KEYS.join("|")})\\s*:`, "i");
const EVIDENCE_HEADING = new RegExp(`^[ \\t]*(?:${anyOf(PROMPT_HEADINGS.supportingEvidence)})[ \\t]*:?[ \\t]*$`, "i");

/**
 * Walks the result's sections: list items are primary findings until a
 * `Supporting evidence:` heading, after which they are evidence; a task list is skipped.
 */
function readResult(prompt: Prompt): Reading {
  const reading: Reading = {
    statements: jsonStrings(prompt.material, "statement"),
    evidence: jsonStrings(prompt.material, "evidence"),
    prose: jsonStrings(prompt.material, "summary"),
    sources: branchIds(prompt.material).length,
    unsourced: 0,
  };
  let section: "findings" | "evidence" | "tasks" = "findings";
  for (const line of prompt.material.split("\n")) {
    const item = /^[ \t]*(?:[-*•]|\d+[.)])[ \t]+(\S.*)$/.exec(line)?.[1];
    if (EVIDENCE_HEADING.test(line)) section = "evidence";
    else if (/^[ \t]*#/.test(line) || /^[ \t]*[a-z][\w ]{0,40}:[ \t]*$/i.test(line)) {
      section = /task/i.test(line) ? "tasks" : "findings";
    } else if (item && !RUBRIC_LINE.test(item)) {
      if (section === "findings") {
        reading.statements.push(item);
        if (!branchIds(item).length) reading.unsourced++;
      } else if (section === "evidence") {
        reading.evidence.push(item);
      }
    } else if (!item && section === "findings" && line.trim() && !line.trim().startsWith("{")) {
      reading.prose.push(line.trim());
    }
  }
  return reading;
}

const count = (text: string, pattern: RegExp) => (text.match(pattern) ?? []).length;
const DISAGREEMENT = /\b(contradict\w*|conflict\w*|inconsisten\w*|disagree\w*|however|on the other hand)\b/gi;
/** Words that commit to a course of action. Generic sequencing ("start", "first") is no advice. */
const ACTION =
  /\b(should|must|recommend\w*|prioriti[sz]\w*|next step|decide|invest|adopt|avoid|pilot|prototyp\w*|mitigat\w*|schedul\w*)\b/i;
const NEGATION = /\b(not|never|no|cannot|can't|isn't|aren't|won't|doesn't|don't)\b/i;

/** Pairs of statements about the same thing in their own words, one of them negated. */
function contradictions(statements: string[]): number {
  // Only pairs of one negated and one plain statement, each with three stems or more, can count.
  const own = statements
    .map((s) => ({ stems: subjectStems(unquoted(s), 30), negated: NEGATION.test(unquoted(s)) }))
    .filter((s) => s.stems.size >= 3);
  const negated = own.filter((s) => s.negated);
  const plain = own.filter((s) => !s.negated);
  let found = 0;
  for (const a of negated) {
    for (const b of plain) {
      const [small, large] = a.stems.size <= b.stems.size ? [a.stems, b.stems] : [b.stems, a.stems];
      let shared = 0;
      for (const x of small) if (large.has(x)) shared++;
      if (shared / small.size >= 0.6) found++;
    }
  }
  return found;
}

/**
 * Scores the integrated result on the rubric from what it visibly contains, measured against
 * the task list: how much of each task's subject the findings take up, whether the findings and
 * their evidence are about that subject at all, whether they contradict each other, and how many
 * on-topic findings say what to do. With no task list, relevance is not judged.
 */
export function qualityJudgement(prompt: Prompt): QualityJudgement {
  const reading = readResult(prompt);
  const findings = reading.statements.length;
  if (findings === 0) {
    return {
      coverage: 0.1,
      evidence: 0.05,
      consistency: 0.2,
      actionability: 0.1,
      issues: ["No primary findings: the integrated result has nothing to judge"],
    };
  }

  const issues: string[] = [];
  const tasks = statedTasks(prompt);
  const subjects = tasks.map((t) => subjectStems(t.description, 10));
  const subject = new Set(subjects.flatMap((s) => [...s]));
  const onTopic = (text: string) => !tasks.length || isOnTopic(text, subject);

  const offTopic = reading.statements.filter((s) => !onTopic(s));
  const onTopicShare = 1 - offTopic.length / findings;
  if (offTopic.length) {
    issues.push(
      `${offTopic.length} of ${findings} primary findings are off the task's subject, e.g. ${quote(offTopic[0]!, 80)}`,
    );
  }

  const findingsText = [...reading.statements, ...reading.prose].join(" ");
  const sourced = 0.1 * Math.min(1, reading.sources / 3);
  let coverage: number;
  if (tasks.length) {
    // The rubric asks that each task be addressed at all; how much of its subject is taken up comes second.
    const addressed = subjects.map((s) => reading.statements.some((statement) => isOnTopic(statement, s)));
    const covered = subjects.map((s) => (s.size ? sharedStems(findingsText, s) / s.size : 0));
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    coverage = 0.15 + 0.35 * mean(addressed.map(Number)) + 0.3 * mean(covered) + 0.1 * onTopicShare + sourced;
    const vague = tasks.filter((_, i) => !subjects[i]!.size);
    const missed = tasks.filter((_, i) => subjects[i]!.size && !addressed[i]);
    if (vague.length) {
      issues.push(
        `The task names no subject a finding could address: ${vague.map((t) => quote(t.description, 60)).join("; ")}`,
      );
    }
    if (missed.length) {
      issues.push(`No primary finding addresses: ${missed.map((t) => quote(t.description, 60)).join("; ")}`);
    }
  } else {
    coverage = 0.6 + 0.075 * Math.min(5, reading.sources);
    if (coverage < 0.9) issues.push(`Only ${reading.sources} branch(es) contribute to the result`);
  }

  const { unsourced } = reading;
  const relevantEvidence = reading.evidence.filter(onTopic).length;
  const evidenced = Math.min(1, relevantEvidence / findings);
  const evidence = 0.2 + 0.6 * evidenced + 0.15 * Math.min(1, reading.sources / 4) - (0.2 * unsourced) / findings;
  if (evidenced < 1) {
    issues.push(`${findings - relevantEvidence} of ${findings} primary findings lack supporting evidence on the task`);
  }
  if (unsourced) issues.push(`${unsourced} primary finding(s) cite no branch`);

  const disagreements = count([...reading.statements, ...reading.evidence].join(" "), DISAGREEMENT);
  const contradicted = contradictions(reading.statements);
  const consistency = 0.96 - 0.12 * disagreements - 0.2 * contradicted - 0.2 * (1 - onTopicShare);
  if (disagreements) issues.push(`Findings show ${disagreements} sign(s) of disagreement between branches`);
  if (contradicted) issues.push(`${contradicted} pair(s) of primary findings contradict each other`);

  const actionable = reading.statements.filter((s) => onTopic(s) && ACTION.test(unquoted(s))).length;
  const actionability = 0.4 + 0.57 * Math.min(1, (2 * actionable) / findings);
  if (actionability < 0.9) issues.push("Few primary findings on the task say what to do");

  return {
    coverage: round2(clamp(coverage, 0, 1)),
    evidence: round2(clamp(evidence, 0, 1)),
    consistency: round2(clamp(consistency, 0.3, 1)),
    actionability: round2(clamp(actionability, 0, 0.97)),
    issues,
  };
}
