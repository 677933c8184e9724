import type { BranchFindings, Finding } from "../../state/shared/findings.js";
import { FINDINGS_CAP, PROMPT_LABELS, REDUCED_SCOPE } from "../../state/shared/prompt_labels.js";
import {
  embeddedJson,
  isOnTopic,
  keyPhrases,
  keywords,
  labelled,
  anyOf,
  labelPattern,
  objectsIn,
  offTopicRemark,
  round2,
  quote,
  sentenceWith,
  sharedStems,
  statedTasks,
  subjectStems,
  tasksOf,
  topics,
  unit,
  unquoted,
  type Prompt,
  type PromptTask,
} from "./text.js";

/** What the branch prompt asks for, read from its labelled lines or an embedded allocation. */
interface Brief {
  objective: string;
  lens: string;
  dataSources: string[];
  task: PromptTask;
  prior: { id: string; summary: string }[];
  feedback?: string;
  limit: number;
}

function allocationField(prompt: Prompt, key: string): string | undefined {
  for (const value of embeddedJson(prompt.material)) {
    for (const record of objectsIn(value)) if (typeof record[key] === "string") return record[key] as string;
  }
  return undefined;
}

/** The task the objective is about: the one sharing most words with it. */
function taskFor(objective: string, prompt: Prompt): PromptTask {
  const tasks = statedTasks(prompt);
  if (!tasks.length) return tasksOf(prompt)[0]!;
  const words = new Set(keywords(objective, 20));
  const overlap = (task: PromptTask) => keywords(task.description, 20).filter((w) => words.has(w)).length;
  return tasks.reduce((best, task) => (overlap(task) > overlap(best) ? task : best));
}

/** The labels the brief is read by (state/shared/prompt_labels.ts); a bare `Focus:` is read too. */
const OBJECTIVE = labelPattern(PROMPT_LABELS.objective);
const FOCUS = labelPattern(PROMPT_LABELS.researchFocus, "focus");
const ANALYSIS_TYPE = labelPattern(PROMPT_LABELS.analysisType);
const DATA_SOURCES = labelPattern(PROMPT_LABELS.dataSources);
/** The feedback runs to the end of its paragraph. */
const FEEDBACK = new RegExp(`(?:${anyOf(PROMPT_LABELS.feedback)})\\s*:\\s*([\\s\\S]*?)(?=\\n[ \\t]*\\n|$)`, "i");
const REDUCED = new RegExp(REDUCED_SCOPE.replace("-", "[- ]"), "i");

function readBrief(prompt: Prompt, seed: number): Brief {
  const text = prompt.material;
  const objective =
    labelled(text, OBJECTIVE) ?? allocationField(prompt, "objective") ?? tasksOf(prompt)[0]!.description;
  const focus = (labelled(text, FOCUS) ?? allocationField(prompt, "focus") ?? "").match(
    /technical|market|competitive/i,
  )?.[0];
  const analysisType = labelled(text, ANALYSIS_TYPE) ?? allocationField(prompt, "analysisType");
  const lens = (
    focus ??
    analysisType ??
    text.match(/\b(technical|market|competitive)\b/i)?.[0] ??
    "general"
  ).toLowerCase();
  const feedback = FEEDBACK.exec(text)?.[1]?.trim();
  const asked = Number(FINDINGS_CAP.exec(text)?.[1] ?? Infinity);
  const reduced = REDUCED.test(text) || allocationField(prompt, "scope") === "reduced";
  return {
    objective,
    lens,
    dataSources: (labelled(text, DATA_SOURCES) ?? "").split(/\s*[,;]\s*/).filter(Boolean),
    task: taskFor(objective, prompt),
    prior: [...text.matchAll(/^[ \t]*[-*•][ \t]*(b\d+-[\w-]+)[ \t]*:[ \t]*(\S.*)$/gim)].map((m) => ({
      id: m[1]!,
      summary: m[2]!,
    })),
    ...(feedback ? { feedback } : {}),
    // Two to four findings, fewer when the prompt caps them or narrows the scope.
    limit: Math.max(1, Math.min(2 + Math.floor(unit(seed, 0) * 3), asked, reduced ? 2 : Infinity)),
  };
}

type Template = (phrase: string, word: string) => string;

const TEMPLATES: Record<string, Template[]> = {
  technical: [
    (p) => `"${p}" is technically feasible with current tooling; integration with existing systems is the main effort`,
    (p, w) => `The hardest technical part of "${p}" is ${w} at production scale, so it should be prototyped first`,
    (p) => `"${p}" can ship incrementally: a narrow pilot first, then a wider rollout`,
    (p, w) => `Reliability and monitoring for ${w} should be designed in from the start of "${p}"`,
  ],
  market: [
    (p, w) => `Demand for "${p}" comes mostly from teams already investing in ${w}`,
    (p, w) => `Early adopters of ${w} are the most reachable first segment for "${p}"`,
    (p) => `Pricing for "${p}" should anchor on the time it saves rather than on feature count`,
    (p, w) => `Interest in ${w} is growing, which widens the window for "${p}"`,
  ],
  competitive: [
    (p, w) => `Established vendors cover parts of "${p}" but leave ${w} underserved`,
    (p, w) => `Differentiation for "${p}" should come from depth in ${w}`,
    (p) => `Switching costs are low for "${p}", so a free trial decides most evaluations`,
    (p, w) => `Open-source alternatives around ${w} set the baseline that "${p}" must beat`,
  ],
  risk: [
    (p, w) => `The largest exposure in "${p}" is ${w}; mitigate it before scaling`,
    (p) => `Failure modes of "${p}" are manageable if a rollback path exists from day one`,
    (p, w) => `Compliance review of ${w} should be scheduled early for "${p}"`,
  ],
  "cost-benefit": [
    (p, w) => `"${p}" pays back fastest when ${w} is automated first`,
    (p) => `The up-front cost of "${p}" is dominated by integration, not licences`,
    (p, w) => `Benefits of "${p}" grow with the volume of ${w} handled`,
  ],
  trend: [
    (p, w) => `Adoption of ${w} is rising, which favours "${p}"`,
    (p) => `Buyers increasingly expect "${p}" as a standard capability, so waiting costs share`,
    (p, w) => `The trend toward ${w} should shape the roadmap for "${p}"`,
  ],
  feasibility: [
    (p, w) => `"${p}" is feasible within a quarter if ${w} is scoped to one team first`,
    (p, w) => `The critical path for "${p}" runs through ${w}, so start there`,
    (p) => `"${p}" needs no new infrastructure beyond what a pilot can prove`,
  ],
  impact: [
    (p, w) => `"${p}" changes daily work most where ${w} is involved, so consult those teams first`,
    (p, w) => `The measurable impact of "${p}" shows up in ${w} within the first months`,
    (p) => `Stakeholders gain most from "${p}" when the rollout is paired with training`,
  ],
  general: [
    (p, w) => `"${p}" hinges on ${w}, which should be prioritised`,
    (p) => `"${p}" is achievable with a staged plan and clear owners`,
    (p, w) => `Evidence on ${w} is the deciding factor for "${p}"`,
  ],
};

const LABELS: Record<string, string> = {
  technical: "Technical research",
  market: "Market research",
  competitive: "Competitive research",
};

/**
 * A finding's confidence, read from what it says: how much of the subject its claim takes up,
 * how much of the claim is about the subject rather than boilerplate, and whether its evidence
 * is about the subject too. A claim that shares nothing with the subject gets the floor, 0.3.
 */
export function findingConfidence(finding: Pick<Finding, "claim" | "evidence">, subject: ReadonlySet<string>): number {
  const relevance = subject.size ? Math.min(1, sharedStems(finding.claim, subject) / Math.min(3, subject.size)) : 0;
  const claimStems = [...subjectStems(finding.claim, 60)];
  const specificity = claimStems.length ? claimStems.filter((s) => subject.has(s)).length / claimStems.length : 0;
  const backed = Math.min(2, finding.evidence.filter((e) => isOnTopic(e, subject)).length) / 2;
  return round2(0.3 + 0.35 * relevance + 0.2 * backed + 0.1 * specificity);
}

/** The share of the feedback's subject the findings take up; feedback naming no subject asks for nothing checkable. */
function feedbackAddressed(findings: Finding[], feedback: string): number {
  const asked = subjectStems(unquoted(feedback), 6);
  if (!asked.size) return 1;
  const said = findings.map((f) => `${f.claim} ${f.evidence.join(" ")}`).join(" ");
  return sharedStems(said, asked) / asked.size;
}

/** The finding a revision leads with: the feedback's point, taken up explicitly. */
function feedbackFinding(brief: Brief, feedback: string, phrase: string): Omit<Finding, "confidence"> {
  const topic = topics(feedback, 1)[0] ?? "the reviewer's point";
  return {
    claim: `"${phrase}" should treat ${topic} as an explicit requirement, as the feedback asks`,
    evidence: [
      `Feedback: ${quote(feedback, 300)}`,
      `Re-examined against the brief: ${quote(sentenceWith(brief.task.description, keywords(topic, 1)[0]))}`,
    ],
  };
}

/** The quoted subject of an objective the planner wrote, else the whole objective. */
const subjectOf = (objective: string) => /"([^"]+)"/.exec(objective)?.[1] ?? objective;

/**
 * Findings through the branch's lens, each claim built on a phrase and a topic of its task and
 * objective; a weak answer is one off-topic remark instead. Either way the confidences are read
 * from the findings, and a revision that leaves the feedback unaddressed loses up to 40%.
 */
export function branchFindings(prompt: Prompt, seed: number, weak = false): BranchFindings {
  const brief = readBrief(prompt, seed);
  const source = `${brief.task.description}. ${subjectOf(brief.objective)}`;
  // A revision is asked about the task and the feedback's own words: findings on either are on
  // the brief. A task with no subject stays without one, whatever the feedback quotes or says.
  const taskSubject = subjectStems(source);
  const subject = taskSubject.size
    ? new Set([...taskSubject, ...subjectStems(unquoted(brief.feedback ?? ""), 6)])
    : taskSubject;
  const label = LABELS[brief.lens] ?? `${brief.lens[0]!.toUpperCase()}${brief.lens.slice(1)} analysis`;

  const drafts: Omit<Finding, "confidence">[] = [];
  if (weak) {
    drafts.push({ claim: offTopicRemark(seed), evidence: ["Common knowledge"] });
  } else {
    const phrases = keyPhrases(source);
    const subjects = topics(source).filter((t) => t !== brief.lens);
    const templates = TEMPLATES[brief.lens] ?? TEMPLATES.general!;
    const offset = Math.floor(unit(seed, 1) * templates.length);
    if (brief.feedback) drafts.push(feedbackFinding(brief, brief.feedback, phrases[0]!));
    for (let k = 0; drafts.length < brief.limit; k++) {
      const phrase = phrases[k % phrases.length]!;
      const topic = subjects[k % Math.max(1, subjects.length)] ?? "delivery";
      const evidence = [`The brief asks: ${quote(sentenceWith(brief.task.description, keywords(topic, 1)[0]), 160)}`];
      const dataSource = brief.dataSources[k % Math.max(1, brief.dataSources.length)];
      evidence.push(
        dataSource
          ? `Checked against ${dataSource}: ${topic} is central to the objective`
          : `Branch objective: ${quote(brief.objective)}`,
      );
      const prior = brief.prior[k % Math.max(1, brief.prior.length)];
      if (prior) evidence.push(`Builds on earlier branch ${prior.id}: ${quote(prior.summary, 100)}`);
      drafts.push({ claim: templates[(k + offset) % templates.length]!(phrase, topic), evidence });
    }
  }

  const findings = drafts.map((draft) => ({ ...draft, confidence: findingConfidence(draft, subject) }));
  const mean = findings.reduce((sum, f) => sum + f.confidence, 0) / findings.length;
  const addressed = brief.feedback ? feedbackAddressed(findings, brief.feedback) : 1;
  const about = weak ? "" : ` on ${quote(subjectOf(brief.objective), 80)}`;
  return {
    summary:
      `${label}${about}: ${findings.length} finding(s). ${findings[0]!.claim}` +
      `${brief.feedback && !weak ? " (revised to address the feedback)" : ""}.`,
    findings,
    confidence: round2(mean * (0.6 + 0.4 * addressed)),
  };
}
