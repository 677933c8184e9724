/**
 * The words the app's prompts are written with and the offline model's skills read back: the
 * prompt builders (nodes/<workflow>/prompts.ts, nodes/shared/prompts.ts) write them, the skills
 * (models/offline/, models/<workflow>/) find them, both through these constants. A label renamed
 * here is renamed on both sides; one spelled out by hand on either side is a broken contract
 * (docs/decisions/0022-prompt-labels.md). A real model reads them as plain English.
 */

/** Labels of `Label: value` lines. */
export const PROMPT_LABELS = {
  /** What a branch or agent works towards: branch_findings reads it, and a tool loop's queries come from it. */
  objective: "Objective",
  /** What a tool loop's sources must answer, stated apart from the branch's angle on it. */
  question: "Question",
  /** A research branch's lens: branch_findings writes its findings through it. */
  researchFocus: "Research focus",
  /** An analysis branch's lens, in place of a research focus. */
  analysisType: "Analysis type",
  /** Where an analysis should look: branch_findings checks its findings against them in turn. */
  dataSources: "Data sources",
  /** What a revision must take up: branch_findings leads with it. */
  feedback: "Feedback to address",
  /** A branch's summary in the merge prompt: merge_synthesis falls back on it for claims and evidence. */
  summary: "Summary",
  /** A finding's evidence after its claim, in the merge prompt's `- claim (confidence x) Evidence: a | b` lines. */
  evidence: "Evidence",
  /** A tool loop's call budget, in its system prompt: the offline model acts as an agent only where it finds one. */
  toolBudget: "Tool budget",
} as const;

/** Headings a list follows, each on a line of its own ending in a colon. */
export const PROMPT_HEADINGS = {
  /** The tasks, one numbered item each: what task_analysis plans and quality_judgement measures coverage against. */
  taskQueue: "Task queue",
  /** Where quality_judgement stops counting list items as findings and starts counting them as evidence. */
  supportingEvidence: "Supporting evidence",
} as const;

/** Between the pieces of one finding's evidence on an `Evidence:` line. */
export const EVIDENCE_SEPARATOR = " | ";

/** A `Label: value` line. */
export const labelLine = (label: string, value: string | number) => `${label}: ${value}`;

/** A heading's line. */
export const headingLine = (heading: string) => `${heading}:`;

/** The cap on a brief's findings, as its request states it; FINDINGS_CAP reads the number back. */
export const findingsCap = (n: number) => `at most ${n} findings`;
export const FINDINGS_CAP = /at most (\d+) findings?/i;

/** A retry narrowed to the core question says so in these words. */
export const REDUCED_SCOPE = "reduced-scope";
