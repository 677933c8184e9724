import { PROMPT_HEADINGS } from "../../state/shared/prompt_labels.js";

/**
 * Text handling for the offline model: everything it says is cut from the prompt it
 * was given, so these helpers find the prompt's tasks, phrases and embedded records.
 */

/** The prompt as the skills see it. */
export interface Prompt {
  /** Every message, in order. */
  text: string;
  /** The messages that are not system instructions: the material to work on. */
  material: string;
  /** The last human (or tool) message: what the caller is asking about right now. */
  last: string;
}

/**
 * FNV-1a with murmur3's finaliser: a stable 32-bit hash, so the same prompt always
 * makes the same choices, and inputs that differ in one character still land far apart.
 */
export function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A deterministic value in [0, 1) for the k-th choice under a seed. */
export function unit(seed: number, k: number): number {
  return hash(`${seed}:${k}`) / 0x1_0000_0000;
}

/** What a weak answer talks about: remarks that are true, shallow, and about nothing a task here asks. */
const OFF_TOPIC_REMARKS = [
  "Bananas are yellow when ripe",
  "Penguins live mostly in the southern hemisphere",
  "Maple leaves turn red in autumn",
  "Jazz grew out of New Orleans",
];

export const offTopicRemark = (seed: number) => OFF_TOPIC_REMARKS[seed % OFF_TOPIC_REMARKS.length]!;

/** A prompt holding only an off-topic remark: what a weak answer answers instead of the real one. */
export function offTopicPrompt(seed: number): Prompt {
  const remark = `${offTopicRemark(seed)}.`;
  return { text: remark, material: remark, last: remark };
}

export const clamp = (x: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, x));
export const round2 = (x: number) => Math.round(x * 100) / 100;

/** Whitespace collapsed and cut at a word boundary. */
export function clip(text: string, max = 140): string {
  const flat = text.replace(/\s+/g, " ").trim();
  if (flat.length <= max) return flat;
  const cut = flat.slice(0, max);
  const space = cut.lastIndexOf(" ");
  return `${(space > max / 2 ? cut.slice(0, space) : cut).replace(/[\s,;:.-]+$/, "")}…`;
}

export function sentences(text: string): string[] {
  return text
    .split(/(?<=[.!?])\s+|\n+/)
    .map((s) => s.trim())
    .filter((s) => /[a-z]{3}/i.test(s));
}

const STOPWORDS = new Set(
  (
    "about above after again against also among analyse analyze analysis another around based because been before " +
    "being below between both branch branches could does doing during each either every from further give given have " +
    "having here into itself just like make more most must need only other over same should some such than that their " +
    "them then there these they this those through under until very were what when where which while will with within " +
    "would your task tasks queue return findings finding evidence confidence each concrete priority objective focus " +
    "research attempt summary including include using used well many much take into onto toward towards whether best"
  ).split(" "),
);

/** Verbs that ask for work rather than name its subject: never a topic. */
const INSTRUCTION_VERBS = new Set(
  (
    "analyse analyze assess evaluate evaluating assessing investigate examine identify determine explore compare " +
    "estimate develop create write find understand describe add address expand clarify explain mention consider " +
    "recommend propose suggest decide choose select adopt adopting"
  ).split(" "),
);

const isContent = (word: string) =>
  /^[a-z][a-z0-9-]{3,}$/.test(word) && !STOPWORDS.has(word) && !INSTRUCTION_VERBS.has(word) && !/^b\d/.test(word);

/** The items most frequent first, ties in order of first appearance. */
function byFrequency(items: string[]): string[] {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(item, (counts.get(item) ?? 0) + 1);
  return [...counts.entries()].sort((a, b) => b[1] - a[1]).map(([item]) => item);
}

/** A text's content words by frequency, each one's stem when it looks like a word, and its stem sets by size asked. */
interface TextWords {
  words: string[];
  stems?: (string | undefined)[];
  stemSets?: Map<number, ReadonlySet<string>>;
}

/**
 * Each recent text's words. The skills ask for the words of the same texts over and over
 * (the task under every branch's prompt, each claim against each task), and scanning them
 * again was most of the offline model's CPU. Bounded: emptied when full.
 */
const wordsOf = new Map<string, TextWords>();
const TEXTS_KEPT = 1024;

function textWords(text: string): TextWords {
  let entry = wordsOf.get(text);
  if (entry === undefined) {
    entry = { words: byFrequency((text.toLowerCase().match(/[a-z][a-z0-9-]*/g) ?? []).filter(isContent)) };
    if (wordsOf.size >= TEXTS_KEPT) wordsOf.clear();
    wordsOf.set(text, entry);
  }
  return entry;
}

/** Content words, most frequent first, ties in order of appearance. */
export function keywords(text: string, max = 8): string[] {
  return textWords(text).words.slice(0, max);
}

/**
 * Letter runs that only keyboard mashing produces ("asdf", "qwer", "zxcv"): three keys in a
 * row on a QWERTY keyboard, either way, that no English word contains. The top row's "wer",
 * "ert" and "rty" are left out: "power", "expert" and "party" have them.
 */
const KEYBOARD_RUN =
  /asd|sdf|dfg|fgh|ghj|hjk|jkl|dsa|fds|gfd|hgf|jhg|kjh|lkj|zxc|xcv|cvb|vbn|bnm|cxz|vcx|bvc|nbv|mnb|qwe|ewq|tyu|yui|uio|uyt|iuy|oiu/;

/** Whether a token could be a word: it has a vowel, no letter three times running, no keyboard run. */
export function looksLikeWord(word: string): boolean {
  return /[aeiouy]/.test(word) && !/([a-z])\1\1/.test(word) && !KEYBOARD_RUN.test(word);
}

/** A crude stem, so "databases" meets "database" and "costs" meets "cost". */
export function stem(word: string): string {
  const bare = word.replace(/(?:ing|ed|es|s)$/, "");
  return (bare.length >= 4 ? bare : word).slice(0, 6);
}

/** The stems of the text's content words that look like words: what a text is about, comparably. */
export function subjectStems(text: string, max = 12): ReadonlySet<string> {
  const entry = textWords(text);
  entry.stems ??= entry.words.map((word) => (looksLikeWord(word) ? stem(word) : undefined));
  entry.stemSets ??= new Map();
  let stems = entry.stemSets.get(max);
  if (stems === undefined) {
    const found = new Set<string>();
    for (const s of entry.stems.slice(0, max)) if (s !== undefined) found.add(s);
    entry.stemSets.set(max, (stems = found));
  }
  return stems;
}

/** How many of the subject's stems the text uses. */
export function sharedStems(text: string, subject: ReadonlySet<string>): number {
  const used = subjectStems(text, 60);
  let shared = 0;
  for (const s of subject) if (used.has(s)) shared++;
  return shared;
}

/**
 * Whether a text is about the subject: it shares two of its stems (one, for a one-word
 * subject). A single shared word is often a generic one ("systems"), not the subject.
 */
export function isOnTopic(text: string, subject: ReadonlySet<string>): boolean {
  return subject.size > 0 && sharedStems(text, subject) >= Math.min(2, subject.size);
}

/**
 * Runs of content words ending a noun phrase ("vector database", "crop yields"), most
 * frequent first; punctuation and function words end a run.
 */
export function nounPhrases(text: string, max = 8): string[] {
  const phrases: string[] = [];
  let run: string[] = [];
  const close = () => {
    if (run.length >= 2) phrases.push(run.slice(-3).join(" "));
    run = [];
  };
  for (const token of text.toLowerCase().match(/[a-z0-9][a-z0-9-]*|[^\sa-z0-9]/g) ?? []) {
    if (isContent(token)) run.push(token);
    else close();
  }
  close();
  return byFrequency(phrases).slice(0, max);
}

/** Words that open a clause without saying what it is about: instructions and connectives. */
const LEADING_FILLER = new RegExp(
  `^(?:(?:and|or|but|including|with|then|also|please|to|research|review|study|map|design|build|plan|cover|include|` +
    `focus on|look at|check|${[...INSTRUCTION_VERBS].join("|")})\\b[\\s,]*)+`,
  "i",
);

/** The clauses of a text, stripped of leading instructions, in order and without repeats. */
function clauses(text: string): string[] {
  const seen = new Set<string>();
  const found: string[] = [];
  for (const clause of text.split(/[.;:!?\n()]+|,\s+|\s+(?:and|including|while|but)\s+/i)) {
    const stripped = clause.replace(/^[\s\-*•\d.)"']+|["'\s]+$/g, "").replace(LEADING_FILLER, "");
    const phrase = clip(stripped, 90);
    const key = phrase.toLowerCase();
    if (!keywords(phrase, 1).length || seen.has(key)) continue;
    seen.add(key);
    found.push(phrase);
  }
  return found;
}

/** Clauses that read as phrases on their own: the raw material of claims. */
export function keyPhrases(text: string, max = 6): string[] {
  const all = clauses(text);
  const long = all.filter((c) => c.split(" ").length >= 3);
  const phrases = (long.length ? long : all).slice(0, max);
  return phrases.length ? phrases : [clip(text, 90) || "the brief"];
}

/** What the text is about: its short clauses ("adoption risks"), noun phrases, then keywords. */
export function topics(text: string, max = 6): string[] {
  const short = clauses(text)
    .filter((c) => c.split(" ").length <= 4)
    .map((c) => c.toLowerCase().replace(/^(?:a|an|the|our|their|its)\s+/, ""));
  return [...new Set([...short, ...nounPhrases(text), ...keywords(text)])].slice(0, max);
}

/** Prompt material quoted inside generated text, its own double quotes softened. */
export const quote = (text: string, max = 140) => `"${clip(text, max).replace(/"/g, "'")}"`;

/** The text without what it quotes: a finding's or a feedback's own words, not the task or source it cites. */
export const unquoted = (text: string) => text.replace(/"[^"]*"/g, " ");

/** The first sentence of the text that mentions the word, else its first sentence. */
export function sentenceWith(text: string, word: string | undefined): string {
  const all = sentences(text);
  const hit = word ? all.find((s) => s.toLowerCase().includes(word)) : undefined;
  return hit ?? all[0] ?? text;
}

const escaped = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/**
 * A regular expression's source matching any of the words: the app's own label or heading
 * (state/shared/prompt_labels.ts) first, then the spellings other writers' prompts use.
 */
export const anyOf = (...words: string[]) => words.map(escaped).join("|");

/** A pattern for `labelled`: any of the labels, in any case. */
export const labelPattern = (...labels: string[]) => new RegExp(anyOf(...labels));

/** The value of a `Label: value` line. */
export function labelled(text: string, label: RegExp): string | undefined {
  const match = new RegExp(`^[ \\t]*(?:${label.source})[ \\t]*:[ \\t]*(\\S.*)$`, "im").exec(text);
  return match?.[1]?.trim();
}

/** Where the bracket opened at `start` closes, minding JSON strings; -1 if it never does. */
function closingBracket(text: string, start: number): number {
  let depth = 0;
  let inString = false;
  for (let i = start; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === "\\") i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === "{" || c === "[") depth++;
    else if (c === "}" || c === "]") {
      depth--;
      if (depth === 0) return i;
    }
  }
  return -1;
}

/**
 * The JSON found in recent texts: a branch's prompt is read for its allocation's fields and its
 * task list one after another, and each read scanned the whole prompt again. Bounded like wordsOf;
 * callers only read what it holds.
 */
const jsonOf = new Map<string, readonly unknown[]>();

/** Every JSON object or array embedded in the text that parses, outermost first. */
export function embeddedJson(text: string): readonly unknown[] {
  let found = jsonOf.get(text);
  if (found === undefined) {
    found = scanJson(text);
    if (jsonOf.size >= TEXTS_KEPT) jsonOf.clear();
    jsonOf.set(text, found);
  }
  return found;
}

function scanJson(text: string): unknown[] {
  const found: unknown[] = [];
  // Prose can hold stray brackets; a bound on failed attempts keeps huge prompts linear.
  let failures = 0;
  for (let i = 0; i < text.length && failures < 200; i++) {
    if (text[i] !== "{" && text[i] !== "[") continue;
    const end = closingBracket(text, i);
    if (end < 0) {
      failures++;
      continue;
    }
    try {
      found.push(JSON.parse(text.slice(i, end + 1)));
      i = end;
    } catch {
      failures++;
    }
  }
  return found;
}

/** Every object inside parsed JSON values, depth first. */
export function* objectsIn(value: unknown): Generator<Record<string, unknown>> {
  if (Array.isArray(value)) for (const item of value) yield* objectsIn(item);
  else if (value !== null && typeof value === "object") {
    yield value as Record<string, unknown>;
    for (const child of Object.values(value)) yield* objectsIn(child);
  }
}

/** The string values of `"key": "..."` pairs anywhere in the text, JSON-decoded. */
export function jsonStrings(text: string, key: string): string[] {
  const pattern = new RegExp(`"${key}"\\s*:\\s*("(?:[^"\\\\]|\\\\.)*")`, "g");
  return [...text.matchAll(pattern)].map((m) => JSON.parse(m[1]!) as string);
}

export interface PromptTask {
  description: string;
  complexity?: number;
  domain?: string;
}

const LIST_ITEM = /^[ \t]*(?:\d+[.)]|[-*•])[ \t]+(\S.*)$/;

const TASK_LIST_HEADING = new RegExp(
  `^[ \\t]*#*[ \\t]*(?:${anyOf(PROMPT_HEADINGS.taskQueue, "tasks")})[ \\t]*:?[ \\t]*$`,
  "i",
);

/** The items of the list under a `Task queue:` / `Tasks:` heading, else every numbered line. */
function listedTasks(material: string): string[] {
  const lines = material.split("\n");
  const heading = lines.findIndex((line) => TASK_LIST_HEADING.test(line));
  if (heading >= 0) {
    const items: string[] = [];
    for (const line of lines.slice(heading + 1)) {
      const item = LIST_ITEM.exec(line)?.[1];
      if (item) items.push(item);
      else if (items.length || line.trim()) break;
    }
    if (items.length) return items;
  }
  return lines.map((line) => /^[ \t]*\d+[.)][ \t]+(\S.*)$/.exec(line)?.[1]).filter((x): x is string => !!x);
}

/**
 * The tasks the prompt is about, tried in order: JSON records with a `description`
 * (which keep a stated `complexity`), `Task N:` lines, the items of a task list.
 * Empty when the prompt names no task explicitly.
 */
export function statedTasks(prompt: Prompt): PromptTask[] {
  // A queue may hold the same task twice on purpose: every entry gets its own plan.
  const tasks: PromptTask[] = [];
  for (const value of embeddedJson(prompt.material)) {
    for (const record of objectsIn(value)) {
      if (typeof record.description !== "string" || !record.description.trim()) continue;
      const task: PromptTask = { description: record.description.trim() };
      if (typeof record.complexity === "number" && record.complexity >= 0 && record.complexity <= 1) {
        task.complexity = record.complexity;
      }
      if (typeof record.domain === "string") task.domain = record.domain;
      tasks.push(task);
    }
  }
  if (tasks.length) return tasks;

  const labelledTasks = [
    ...prompt.material.matchAll(/^[ \t]*(?:[-*•][ \t]*)?task[ \t]*#?\d*[ \t]*[:)][ \t]*(\S.*)$/gim),
  ];
  const lines = labelledTasks.length ? labelledTasks.map((m) => m[1]!) : listedTasks(prompt.material);
  return lines.map((line) => ({ description: line.trim() }));
}

/** The stated tasks, or the caller's last message taken as the one task. */
export function tasksOf(prompt: Prompt): PromptTask[] {
  const stated = statedTasks(prompt);
  if (stated.length) return stated;
  return [{ description: clip(prompt.last || prompt.text, 600) || "the request" }];
}

/**
 * Branch ids as the workflows write them: the research workflow's `b1-research-technical`,
 * `b4-analysis-high`, and a dynamic agent's `<thread id>/agent-<n>`.
 */
const ID = String.raw`(?:b\d+-[a-z]+(?:-[a-z0-9]+)*|[\w.:-]+\/agent-\d+)`;
const BRANCH_ID = new RegExp(String.raw`\b${ID}\b`, "gi");
/** An id that opens a block: a heading, a list item, `Branch <id>` or a `branchId` field. */
const BRANCH_ANCHOR = new RegExp(
  String.raw`(?:^[ \t]*(?:#+[ \t]*|[-*•][ \t]*|branch[ \t]+)?|"branchId"\s*:\s*")(${ID})\b`,
  "gim",
);

interface BranchBlock {
  id: string;
  /** The text that follows the id's anchors, up to the next anchor. */
  text: string;
}

/**
 * The prompt's text cut into blocks, one per branch id. Ids quoted inside another
 * branch's text stay in that text; only ids that open a block start one.
 */
export function branchBlocks(text: string): BranchBlock[] {
  const found = (pattern: RegExp, group: number) =>
    [...text.matchAll(pattern)].map((m) => ({ id: m[group]!, start: m.index!, end: m.index! + m[0].length }));
  let anchors = found(BRANCH_ANCHOR, 1);
  if (!anchors.length) anchors = found(BRANCH_ID, 0);
  const blocks = new Map<string, string>();
  anchors.forEach((anchor, i) => {
    const body = text.slice(anchor.end, anchors[i + 1]?.start ?? text.length);
    blocks.set(anchor.id, `${blocks.get(anchor.id) ?? ""}\n${body}`);
  });
  return [...blocks.entries()].map(([id, body]) => ({ id, text: body }));
}

/** Every branch id the text mentions, in order of first mention. */
export function branchIds(text: string): string[] {
  return [...new Set(text.match(BRANCH_ID) ?? [])];
}
