import type { PlannedBranch, TaskAnalysis } from "../../state/parallel_workflow/outputs.js";
import {
  clamp,
  clip,
  keywords,
  round2,
  sentences,
  tasksOf,
  unit,
  type Prompt,
  type PromptTask,
} from "../offline/text.js";

const TECHNICAL_TERMS =
  /\b(architecture|distributed|scal\w+|latency|kubernetes|migrat\w+|security|compliance|integrat\w+|machine learning|algorithm\w*|database\w*|infrastructure|concurren\w+|encrypt\w+|protocol\w*|optimi[sz]\w+|pipelines?|real-time|apis?|cloud|microservices?|models?|regulat\w+|privacy|throughput|performance|ai|llms?)\b/gi;
const SEQUENCING_CUES =
  /\b(then|after|afterwards|before|depends?|dependent|dependenc\w+|first|next|finally|once|subsequently|prerequisites?|requires?|based on|build(?:s|ing)? on|followed by|in turn|previous|preceding)\b/gi;

const matches = (text: string, pattern: RegExp) => text.match(pattern) ?? [];

/** Length and technical vocabulary; at most 0.75, so only a stated complexity reaches the top. */
function derivedComplexity(task: PromptTask): number {
  const terms = matches(task.description, TECHNICAL_TERMS).length;
  return 0.3 + Math.min(0.2, task.description.length / 1000) + Math.min(0.25, 0.05 * terms);
}

function complexityOf(tasks: PromptTask[]): { score: number; why: string } {
  const stated = tasks.filter((t) => t.complexity !== undefined);
  const perTask = tasks.map((t) => t.complexity ?? derivedComplexity(t));
  const mean = perTask.reduce((a, b) => a + b, 0) / perTask.length;
  if (stated.length === tasks.length) {
    return { score: round2(mean), why: "as the tasks state it" };
  }
  // More tasks to coordinate is more work, whatever each one is like.
  const score = round2(clamp(mean + Math.min(0.1, 0.01 * (tasks.length - 1)), 0.05, 0.95));
  const terms = [...new Set(tasks.flatMap((t) => matches(t.description, TECHNICAL_TERMS).map((m) => m.toLowerCase())))];
  const why = terms.length
    ? `from task length and technical terms (${terms.slice(0, 5).join(", ")})`
    : "from task length; no specialised technical terms";
  return { score, why: stated.length ? `${why}, with ${stated.length} stated value(s)` : why };
}

function interdependencyOf(tasks: PromptTask[]): { score: number; why: string } {
  const cues = tasks.flatMap((t) => matches(t.description, SEQUENCING_CUES).map((m) => m.toLowerCase()));
  const crossReferences = tasks.filter((t) =>
    /\b(?:task \d+|the (?:previous|above|former) (?:task|step))\b/i.test(t.description),
  );
  const score = round2(clamp(0.1 + 0.1 * cues.length + 0.1 * crossReferences.length, 0.05, 0.95));
  const why = cues.length
    ? `sequencing cues: ${[...new Set(cues)].slice(0, 5).join(", ")}`
    : "no sequencing cues between the parts";
  return { score, why };
}

const ANALYSIS_TYPES = [
  { type: "risk", cue: /\b(risks?|security|compliance|threats?|failures?|regulat\w+|safety|privacy)\b/gi },
  { type: "cost-benefit", cue: /\b(costs?|budgets?|pric\w+|roi|invest\w*|revenue|spend\w*|savings?)\b/gi },
  { type: "trend", cue: /\b(trends?|growth|forecast\w*|adoption|future|emerging|market\w*)\b/gi },
  { type: "feasibility", cue: /\b(feasib\w+|implement\w*|build\w*|technical\w*|prototype\w*)\b/gi },
  { type: "impact", cue: /\b(impact\w*|users?|customers?|stakeholders?|teams?|workflows?)\b/gi },
] as const;

const DATA_SOURCES: Record<(typeof ANALYSIS_TYPES)[number]["type"], string[]> = {
  risk: ["incident and failure reports", "regulatory guidance"],
  "cost-benefit": ["pricing and cost benchmarks", "effort estimates"],
  trend: ["adoption surveys", "market growth data"],
  feasibility: ["technical documentation", "reference implementations"],
  impact: ["user feedback", "usage metrics"],
};

/** The two analysis types the task calls for most, ties broken by a seeded shuffle. */
function analysisTypes(task: PromptTask, seed: number) {
  return [...ANALYSIS_TYPES]
    .map((entry, i) => ({ ...entry, hits: matches(task.description, entry.cue).length, tie: unit(seed, i) }))
    .sort((a, b) => b.hits - a.hits || a.tie - b.tie)
    .slice(0, 2)
    .map((entry) => entry.type);
}

function branchesFor(task: PromptTask, number: number, seed: number): PlannedBranch[] {
  const subject = clip(sentences(task.description)[0] ?? task.description, 100);
  const topic = keywords(task.description, 1)[0];
  const [primary, secondary] = analysisTypes(task, seed);
  const analysis = (type: NonNullable<typeof primary>, priority: "high" | "normal"): PlannedBranch => ({
    type: "analysis",
    task: number,
    objective: `Run a ${type} analysis of "${subject}"`,
    analysisType: type,
    priority,
    dataSources: [
      ...DATA_SOURCES[type],
      ...(topic ? [`${topic} case studies`] : []),
      ...(task.domain ? [`${task.domain} sources`] : []),
      "research branch findings",
    ],
  });
  return [
    {
      type: "research",
      focus: "technical",
      task: number,
      objective: `Establish what it takes technically to deliver "${subject}"`,
    },
    {
      type: "research",
      focus: "market",
      task: number,
      objective: `Size the demand and the buyers behind "${subject}"`,
    },
    {
      type: "research",
      focus: "competitive",
      task: number,
      objective: `Map the alternatives and competitors relevant to "${subject}"`,
    },
    analysis(primary!, "high"),
    analysis(secondary!, "normal"),
  ];
}

/** Scores the queue and plans five branches per task: three research focuses, two analyses. */
export function taskAnalysis(prompt: Prompt, seed: number): TaskAnalysis {
  const tasks = tasksOf(prompt);
  const complexity = complexityOf(tasks);
  const interdependency = interdependencyOf(tasks);
  return {
    complexityScore: complexity.score,
    interdependencyScore: interdependency.score,
    rationale:
      `${tasks.length} task(s). Complexity ${complexity.score} ${complexity.why}. ` +
      `Interdependency ${interdependency.score}: ${interdependency.why}.`,
    branchPlan: tasks.flatMap((task, i) => branchesFor(task, i + 1, seed + i)),
  };
}
