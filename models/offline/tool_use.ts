import {
  CitedFindingsSchema,
  SourceResultSchema,
  type CitedFinding,
  type CitedFindings,
  type SourcePassage,
} from "../../state/shared/citations.js";
import { PROMPT_LABELS } from "../../state/shared/prompt_labels.js";
import type { JsonSchema } from "./schema_fill.js";
import {
  clip,
  embeddedJson,
  keywords,
  labelled,
  labelPattern,
  round2,
  sentences,
  sharedStems,
  subjectStems,
  type Prompt,
} from "./text.js";

/**
 * The offline model as a tool-using agent. It reads sources the way a careful researcher would:
 * it calls the offered tools whose descriptions fit the brief, once per thing it needs to look up,
 * within the budget the prompt states; then it reports only what the results say, quoting them.
 * Nothing inside a tool result steers it: results are only ever scored and quoted.
 */

/** A tool as bound to the model: its name, description and JSON-schema parameters. */
export interface OfferedTool {
  name: string;
  description?: string;
  parameters?: JsonSchema;
}

export interface PlannedCall {
  name: string;
  args: Record<string, unknown>;
}

/** What a message in the conversation contributes to the plan. */
export interface TurnMessage {
  type: string;
  text: string;
  toolCalls: PlannedCall[];
}

/** The prompt label that marks a tool loop and states its budget. */
const BUDGET_LABEL = labelPattern(PROMPT_LABELS.toolBudget);
const BRIEF_LABEL = labelPattern(PROMPT_LABELS.objective, PROMPT_LABELS.question);
const SEARCHES = /\bsearch/i;

/** What the brief asks about: its `Objective:` or `Question:` line, else its first paragraph. */
export function briefObjective(text: string): string {
  return labelled(text, BRIEF_LABEL) ?? text.trim().split(/\n\s*\n/)[0] ?? "";
}

/** The things to look up: the objective's quoted terms, each on its own, else its content words together. */
export function queriesOf(objective: string): string[] {
  const quoted = [...objective.matchAll(/"([^"\n]{2,80})"/g)].map((m) => m[1]!.trim());
  if (quoted.length) return [...new Set(quoted)];
  const words = keywords(objective, 8);
  return words.length ? [words.join(" ")] : [objective.trim()];
}

/** The call's arguments: the query for each required string parameter; a tool needing anything else is not one to guess at. */
function argumentsFor(tool: OfferedTool, query: string): Record<string, unknown> | undefined {
  const properties = (tool.parameters?.properties ?? {}) as Record<string, JsonSchema>;
  const required = (tool.parameters?.required ?? Object.keys(properties).slice(0, 1)) as string[];
  if (required.some((name) => properties[name]?.type !== "string")) return undefined;
  return Object.fromEntries(required.map((name) => [name, query]));
}

/** Whether a tool's name and description fit the brief: it searches, or it is about what the brief is about. */
function fits(tool: OfferedTool, objective: string): boolean {
  const said = `${tool.name.replace(/_+/g, " ")} ${tool.description ?? ""}`;
  return SEARCHES.test(said) || sharedStems(said, subjectStems(objective)) > 0;
}

const keyOf = (call: PlannedCall) => `${call.name}\n${JSON.stringify(call.args)}`;

/**
 * The agent's next tool call, none when it should answer, or undefined when the conversation is
 * no tool loop (its prompt states no `Tool budget:`). One call a turn, so each result is read
 * before the next is asked for and each is saved on its own.
 */
export function nextToolCall(
  messages: readonly TurnMessage[],
  tools: readonly OfferedTool[],
): { call?: PlannedCall } | undefined {
  const system = messages
    .filter((m) => m.type === "system")
    .map((m) => m.text)
    .join("\n");
  const budget = labelled(system, BUDGET_LABEL);
  if (budget === undefined) return undefined;
  const made = messages.flatMap((m) => m.toolCalls);
  if (made.length >= Number(/\d+/.exec(budget)?.[0] ?? 0)) return {};
  const objective = briefObjective(messages.find((m) => m.type === "human")?.text ?? "");
  const done = new Set(made.map(keyOf));
  for (const tool of tools.filter((t) => fits(t, objective))) {
    for (const query of queriesOf(objective)) {
      const args = argumentsFor(tool, query);
      const call = args && { name: tool.name, args };
      if (call && !done.has(keyOf(call))) return { call };
    }
  }
  return {};
}

/** The ok results' passages in the prompt, each once. */
function passagesIn(prompt: Prompt): SourcePassage[] {
  const seen = new Set<string>();
  return embeddedJson(prompt.material).flatMap((value) => {
    const parsed = SourceResultSchema.safeParse(value);
    if (!parsed.success || parsed.data.status !== "ok") return [];
    return parsed.data.passages.filter(
      (p) => !seen.has(`${p.sourceId}\n${p.location}`) && seen.add(`${p.sourceId}\n${p.location}`),
    );
  });
}

/** The share of the subject a text covers. */
const coverage = (text: string, subject: ReadonlySet<string>) =>
  subject.size ? sharedStems(text, subject) / subject.size : 0;

/**
 * A passage answers the brief when it covers at least half of the subject and is not far behind
 * the best passage: search engines return near misses, and a report should cite what answers.
 */
const RELEVANT_SHARE = 0.5;
const OF_BEST = 0.75;

/**
 * Findings built from the tool results in the prompt: for each source whose passage answers the
 * brief, its most relevant sentence, quoted verbatim and cited. With nothing relevant read, one
 * finding says so, citing nothing.
 */
export function citedFindings(prompt: Prompt): CitedFindings {
  const objective = briefObjective(prompt.material);
  const subject = new Set([...subjectStems(objective), ...queriesOf(objective).flatMap((q) => [...subjectStems(q)])]);
  const scored = passagesIn(prompt).map((passage) => ({
    passage,
    score: coverage(`${passage.title} ${passage.text}`, subject),
  }));
  const best = Math.max(0, ...scored.map((s) => s.score));
  const bySource = new Map<string, (typeof scored)[number]>();
  for (const entry of scored) {
    if (entry.score < RELEVANT_SHARE || entry.score < OF_BEST * best) continue;
    const held = bySource.get(entry.passage.sourceId);
    if (!held || entry.score > held.score) bySource.set(entry.passage.sourceId, entry);
  }
  const findings: CitedFinding[] = [...bySource.values()].map(({ passage, score }) => {
    const quote = [...sentences(passage.text), passage.text.trim()].reduce((a, b) =>
      sharedStems(b, subject) > sharedStems(a, subject) ? b : a,
    );
    return {
      claim: `${passage.title} states: "${clip(quote, 200)}"`,
      evidence: [quote],
      confidence: round2(0.4 + 0.5 * score),
      citations: [{ sourceId: passage.sourceId, title: passage.title, location: passage.location, quote }],
    };
  });
  if (!findings.length) {
    findings.push({
      claim: `No source read answers "${clip(objective, 120)}"`,
      evidence: [],
      confidence: 0.2,
      citations: [],
    });
  }
  const confidence = round2(findings.reduce((sum, f) => sum + f.confidence, 0) / findings.length);
  return {
    summary: `${findings.length} finding(s) on "${clip(objective, 80)}" from ${bySource.size} source(s). ${findings[0]!.claim}`,
    findings,
    confidence,
  };
}

/** A source no tool returned, for a misquoting answer to cite. */
export const UNREAD_SOURCE = {
  sourceId: "corpus:unread/invented.md",
  title: "Invented",
  location: "unread/invented.md:1-1",
};

/** The quote with its middle word changed: close enough to pass for it, not the words that were read. */
function changedWord(quote: string): string {
  const words = quote.split(" ");
  const middle = Math.floor(words.length / 2);
  words[middle] = words[middle] === "never" ? "always" : "never";
  return words.join(" ");
}

/**
 * A misquoting answer (the fault plan's `misquote`): each citation's quote with one word changed,
 * and the same quote, unchanged, cited once more from a source nothing returned. Answers that cite
 * nothing are returned as they are.
 */
export function misquoted(answer: object): object {
  const parsed = CitedFindingsSchema.safeParse(answer);
  if (!parsed.success) return answer;
  const findings = parsed.data.findings.map((finding) => {
    const citations = finding.citations.flatMap((citation) => [
      { ...citation, quote: changedWord(citation.quote) },
      { ...UNREAD_SOURCE, quote: citation.quote },
    ]);
    return { ...finding, citations, evidence: citations.map((c) => c.quote) };
  });
  return { ...parsed.data, findings };
}
