import { resolve } from "node:path";
import os from "node:os";
import { type Command, Option } from "commander";
import type { Checkpointer, Database } from "../../checkpoints/index.js";
import { InputError } from "../../state/shared/errors.js";
import { readInputFile } from "../../state/shared/input_file.js";
import { checkThreadId } from "../../state/shared/thread_id.js";
import type { JsonOption, ReviewerOption, WorkflowFlags } from "../workflow_cli.js";

export type { JsonOption, ReviewerOption } from "../workflow_cli.js";

/**
 * What every command shares: exit codes, the --json convention, option parsers and help
 * layout, and opening the database. It loads nothing heavy: a command imports the workflow,
 * the database driver or the terminal UI inside its action, so `--help` and the commands
 * that do not need them start fast.
 */

export const EXIT = { ok: 0, failed: 1, usage: 2, interrupted: 130 } as const;

/** Under --json, stdout carries only the result: progress and notes go to stderr. */
export function makeOutput(options: JsonOption) {
  const out = options.json ? process.stderr : process.stdout;
  return { line: (text: string) => out.write(text + "\n") };
}

export const printJson = (value: unknown) => process.stdout.write(JSON.stringify(value) + "\n");
export const terminal = (options: JsonOption) => !options.json && !!process.stdout.isTTY;

export function reviewerName(options: ReviewerOption): string {
  if (options.reviewer) return options.reviewer;
  try {
    return os.userInfo().username;
  } catch {
    return "anonymous";
  }
}

/** A JSON file the user gave (`flag`), parsed; one line naming the problem and `example` when it is no JSON. */
export async function readJsonFile(flag: string, file: string, example: string): Promise<unknown> {
  const text = await readInputFile(flag, file);
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new InputError(`${flag} ${file} is not valid JSON (${(error as Error).message}): ${example}`);
  }
}

/** Opens the checkpointer for one command, reporting the embedded Postgres's progress on stderr, and closes it. */
export async function withCheckpointer<T>(
  fn: (db: Checkpointer) => Promise<T>,
  options: { migrate?: boolean } = {},
): Promise<T> {
  const { openCheckpointer } = await import("../../checkpoints/index.js");
  const db = await openCheckpointer({
    ...options,
    onProgress: (message: string) => process.stderr.write(message + "\n"),
  });
  try {
    return await fn(db);
  } finally {
    await db.close();
  }
}

/** The database alone, for commands that read its tables straight (no LangGraph saver is loaded). */
export async function withDatabase<T>(fn: (db: Database) => Promise<T>): Promise<T> {
  const { openDatabase } = await import("../../checkpoints/index.js");
  const db = await openDatabase({ onProgress: (message: string) => process.stderr.write(message + "\n") });
  try {
    return await fn(db);
  } finally {
    await db.close();
  }
}

export const number = (flag: string) => (value: string) => {
  const n = Number(value);
  if (!Number.isFinite(n)) throw new InputError(`${flag} must be a number, got '${value}'`);
  return n;
};

/** A command's thread argument, checked against the one thread-id rule before anything runs. */
export const THREAD_ARGUMENT = ["<thread>", "the thread id", checkThreadId] as const;
/** --thread of the commands that start a thread. */
export const THREAD_OPTION = ["--thread <id>", "the thread id (default: a new UUID)", checkThreadId] as const;

export const JSON_OPTION = ["--json", "print the result as JSON on stdout (progress and notes go to stderr)"] as const;
export const reviewOption = (description: string) =>
  new Option("--review <mode>", description).choices(["always", "never"]);
export const examples = (...lines: string[]) => `\nExamples:\n${lines.map((l) => `  $ ${l}`).join("\n")}`;

/** The options workflows add to a command, each flag once: workflows that share a step declare its flags alike. */
export function addWorkflowOptions(command: Command, options: readonly Option[]): void {
  const added = new Set(command.options.map((option) => option.long));
  for (const option of options) {
    if (added.has(option.long)) continue;
    added.add(option.long);
    command.addOption(option);
  }
}

/** A subcommand of `parent`; it inherits the program's exit handling. */
export const subcommand = (parent: Command, name: string) => parent.command(name).exitOverride();

const SOURCE_FLAGS = ["corpus", "mcp", "webSearch", "toolBudget", "toolTimeoutMs", "toolLoopTimeoutMs"] as const;

/** A run option with a number value: `--flag <n>`. */
export const numberOption = (flags: string, description: string) => {
  const option = new Option(flags, description);
  return option.argParser(number(option.long ?? flags));
};

/** The run options of the shared sources (state/shared/sources.ts), for a workflow whose steps search and call tools. */
export const sourceOptions = (): Option[] => [
  new Option("--corpus <dir>", "a folder of .md, .txt and .html files the branches search and cite"),
  new Option("--mcp <file>", 'a JSON file of MCP servers ({"mcpServers": {...}}) whose tools the branches may call'),
  new Option("--web-search", "offer Tavily web search to the branches (needs TAVILY_API_KEY; off by default)"),
  numberOption("--tool-budget <n>", "most tool calls per branch (6)"),
  numberOption("--tool-timeout-ms <ms>", "time one tool call may take (20000)"),
  numberOption("--tool-loop-timeout-ms <ms>", "time a branch may spend calling tools (60000)"),
];

/** The run options of the shared review, merge and quality steps (state/shared/), for a workflow that ends with them. */
export const sharedStepOptions = (): Option[] => [
  reviewOption("pause for human review (default: always)"),
  numberOption("--quality-threshold <x>", "lowest quality score the validator approves (0.8)"),
  numberOption("--max-concurrency <n>", "most branches at once (5)"),
  numberOption("--branch-timeout-ms <ms>", "per-branch timeout (120000)"),
];

/**
 * The source flags given, as settings: paths made absolute, since they are saved with the thread
 * and a resume may run from another folder; checked before anything is written, so a missing
 * corpus or a broken MCP file is one line and exit 2 rather than a branch that fails.
 */
export async function checkedSources(options: WorkflowFlags): Promise<Record<string, unknown>> {
  const given = Object.fromEntries(
    SOURCE_FLAGS.filter((key) => options[key] !== undefined).map((key) => [key, options[key]]),
  );
  for (const key of ["corpus", "mcp"] as const)
    if (typeof options[key] === "string") given[key] = resolve(options[key]);
  const { SourcesSettingsSchema, hasSources } = await import("../../state/shared/sources.js");
  const parsed = SourcesSettingsSchema.safeParse(given);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new InputError(`invalid configuration: ${issue.path.join(".")}: ${issue.message}`);
  }
  if (hasSources(parsed.data)) (await import("../../nodes/shared/sources/sources.js")).validateSources(parsed.data);
  return given;
}
