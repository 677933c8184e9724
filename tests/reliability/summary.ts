import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { readTally, summaryTable, TALLY_ENV } from "./tally.js";

/** Vitest global setup: a tally file for the workers, and the reliability table once they are done. */
export default function setup(): () => void {
  const dir = mkdtempSync(path.join(os.tmpdir(), "orchestra-reliability-"));
  const file = path.join(dir, "tally.jsonl");
  process.env[TALLY_ENV] = file;
  return () => {
    const entries = readTally(file);
    if (entries.length) console.log(`\nReliability suite\n${summaryTable(entries)}\n`);
    rmSync(dir, { recursive: true, force: true });
  };
}
