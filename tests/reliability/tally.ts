import { appendFileSync, readFileSync } from "node:fs";

/**
 * The suite's figures. Every scenario records what it injected and what it measured into one
 * JSON-lines file (tests/reliability/summary.ts creates it and prints the table at the end), so
 * the figures come from the same runs the assertions checked.
 */
export const TALLY_ENV = "ORCHESTRA_RELIABILITY_TALLY";

export const FAULT_CLASSES = ["crash", "model", "database", "concurrency", "bad input", "secrets"] as const;
export type FaultClass = (typeof FAULT_CLASSES)[number];

export interface Figures {
  faults: number;
  /** Runs that completed after the fault, by retry, the sync rules or a resume. */
  recovered: number;
  /** Branch results saved before the fault and missing from the final state. */
  lost: number;
  /** Saved tasks that ran again. */
  needless: number;
}

export interface TallyEntry extends Figures {
  faultClass: FaultClass;
  scenario: string;
}

export function record(faultClass: FaultClass, scenario: string, figures: Partial<Figures>): void {
  const file = process.env[TALLY_ENV];
  // Run on its own (vitest with a filter), a file still asserts; only the table is missing.
  if (!file) return;
  const entry: TallyEntry = { faultClass, scenario, faults: 0, recovered: 0, lost: 0, needless: 0, ...figures };
  appendFileSync(file, JSON.stringify(entry) + "\n");
}

/**
 * Runs a scenario that fills in its figures as it measures them, and records them whatever
 * happens: an assertion that fails after a measurement still leaves its counts in the table,
 * so a failing scenario shows there with what went wrong rather than vanishing from it.
 */
export async function scenario(
  faultClass: FaultClass,
  name: string,
  run: (figures: Figures) => Promise<void>,
): Promise<void> {
  const figures: Figures = { faults: 0, recovered: 0, lost: 0, needless: 0 };
  try {
    await run(figures);
  } finally {
    record(faultClass, name, figures);
  }
}

export function readTally(file: string): TallyEntry[] {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    return [];
  }
  return text
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line) as TallyEntry);
}

/** One row per fault class and a total: the table the README quotes. */
export function summaryTable(entries: TallyEntry[]): string {
  const header = ["fault class", "scenarios", "faults injected", "recovered runs", "results lost", "needless re-runs"];
  const sum = (rows: TallyEntry[]) => [
    rows.length,
    ...(["faults", "recovered", "lost", "needless"] as const).map((key) => rows.reduce((n, row) => n + row[key], 0)),
  ];
  const rows: (string | number)[][] = FAULT_CLASSES.filter((c) => entries.some((e) => e.faultClass === c)).map((c) => [
    c,
    ...sum(entries.filter((e) => e.faultClass === c)),
  ]);
  rows.push(["total", ...sum(entries)]);
  const table = [header, ...rows].map((row) => row.map(String));
  const widths = header.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
  const line = (row: string[]) =>
    `| ${row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join(" | ")} |`;
  return [
    line(table[0]!),
    `|${widths.map((w, i) => (i === 0 ? "-".repeat(w + 2) : `${"-".repeat(w + 1)}:`)).join("|")}|`,
    ...table.slice(1).map(line),
  ].join("\n");
}
