import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import type { Command } from "commander";
import { describe, expect, it } from "vitest";
import { buildProgram } from "../scripts/program.js";
import { PROJECT_ROOT } from "./support/cli.js";

/** The README and every guide in docs/ (not the decision records, which describe the past). */
const GUIDES = [
  "README.md",
  "bench/README.md",
  ...readdirSync(path.join(PROJECT_ROOT, "docs"))
    .filter((name) => name.endsWith(".md"))
    .map((name) => `docs/${name}`),
];

/**
 * The `orchestra …` command lines a guide shows: lines of its code blocks (a `$ ` prompt, `npx`
 * and `\` continuations allowed) and inline code spans. Output lines such as `orchestra: …` or
 * `orchestra serve: listening …` are not commands.
 */
function documentedCommands(markdown: string): string[] {
  const commands: string[] = [];
  const blocks = [...markdown.matchAll(/^```[^\n]*\n([\s\S]*?)^```/gm)].map((match) => match[1] ?? "");
  for (const block of blocks) {
    for (const line of block.replace(/\s*\\\n\s*/g, " ").split("\n")) {
      const command = line
        .trim()
        .replace(/^\$\s+/, "")
        .replace(/^npx\s+/, "");
      if (/^orchestra\s/.test(command)) commands.push(command.replace(/\s+#\s.*$/, ""));
    }
  }
  const prose = markdown.replace(/^```[^\n]*\n[\s\S]*?^```/gm, "");
  for (const match of prose.matchAll(/`(?:npx )?(orchestra [^`]+)`/g)) commands.push(match[1] ?? "");
  return commands.filter((command) => !/^orchestra [\w-]*:/.test(command));
}

/** Shell-like words: quotes group, brackets and ellipses of usage lines are dropped. */
function words(line: string): string[] {
  const tokens = [...line.matchAll(/'[^']*'|"(?:[^"\\]|\\.)*"|\S+/g)].map((match) => match[0]);
  return tokens
    .map((token) => token.replace(/^\[+|\]+$/g, ""))
    .filter((token) => token !== "" && token !== "…" && token !== "...");
}

const optionNames = (command: Command | null): string[] =>
  command
    ? [...command.options.flatMap((option) => [option.long, option.short]), ...optionNames(command.parent)].filter(
        (name): name is string => !!name,
      )
    : ["--help", "-h"];

/** What is wrong with one documented invocation, or undefined when every command and flag exists. */
function problemWith(program: Command, invocation: string): string | undefined {
  // "orchestra pause | cancel | audit THREAD" and "db status | db migrate" name several commands;
  // "show THREAD --json | jq …" pipes into another program, which is not ours to check.
  const segments = invocation
    .replace(/\\\|/g, "|")
    .replace(/^orchestra\s+/, "")
    .split(/\s+\|\s+(?=[a-z])/);
  const isCommand = (segment: string) => program.commands.some((sub) => sub.name() === segment.split(/\s/)[0]);
  const alternatives = segments.filter(
    (_segment, index) => index === 0 || segments.slice(1, index + 1).every(isCommand),
  );
  for (const alternative of alternatives) {
    let command = program;
    const tokens = words(alternative.replace(/\s+\|\s+/g, "|"));
    for (const token of tokens) {
      if (token.startsWith("-")) {
        for (const flag of token.split("|").map((part) => part.split("=")[0] ?? "")) {
          if (flag.startsWith("-") && !optionNames(command).includes(flag))
            return `'${invocation}': '${command.name()}' has no option ${flag}`;
        }
        continue;
      }
      if (command.commands.length === 0) continue;
      const names = token.split("|");
      const subs = names.map((name) =>
        command.commands.find((sub) => sub.name() === name || sub.aliases().includes(name)),
      );
      const missing = names.find((_, index) => !subs[index]);
      if (missing !== undefined) return `'${invocation}': '${command.name()}' has no command '${missing}'`;
      if (subs.length > 1) break;
      command = subs[0] ?? command;
    }
  }
  return undefined;
}

describe("the commands the README and the guides show", () => {
  const program = buildProgram();

  it("finds command lines in code blocks and in inline code, and not the CLI's own output", () => {
    const markdown =
      "```sh\n$ orchestra run --review never \\\n  --corpus docs   # a comment\norchestra: thread x is busy\n```\nUse `orchestra show THREAD`.";
    expect(documentedCommands(markdown)).toEqual([
      "orchestra run --review never --corpus docs",
      "orchestra show THREAD",
    ]);
  });

  it("catches an unknown command and an unknown flag", () => {
    expect(problemWith(program, "orchestra frobnicate")).toMatch(/no command 'frobnicate'/);
    expect(problemWith(program, "orchestra run --revue never")).toMatch(/no option --revue/);
    expect(problemWith(program, "orchestra pause | cancel | audit THREAD")).toBeUndefined();
    expect(problemWith(program, "orchestra db status | db migrate")).toBeUndefined();
    expect(problemWith(program, "orchestra show THREAD --json | jq .reviewable")).toBeUndefined();
  });

  it.each(GUIDES)("%s names only commands and flags that exist", (guide) => {
    const commands = documentedCommands(readFileSync(path.join(PROJECT_ROOT, guide), "utf8"));
    const problems = commands
      .map((command) => problemWith(program, command))
      .filter((problem) => problem !== undefined);
    expect(problems).toEqual([]);
  });

  it("finds commands to check in the README and the guides", () => {
    const total = GUIDES.reduce(
      (sum, guide) => sum + documentedCommands(readFileSync(path.join(PROJECT_ROOT, guide), "utf8")).length,
      0,
    );
    expect(total).toBeGreaterThan(50);
  });
});
