import { readFile } from "node:fs/promises";
import type { CallLogEntry } from "../../models/offline/model.js";

/** The offline model's call log (ORCHESTRA_OFFLINE_CALL_LOG), empty until the first call. */
export async function readCallLog(log: string): Promise<CallLogEntry[]> {
  const text = await readFile(log, "utf8").catch(() => "");
  return text
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line) as CallLogEntry);
}

export function callsPerNode(entries: CallLogEntry[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const entry of entries) counts[entry.node] = (counts[entry.node] ?? 0) + 1;
  return counts;
}

/** Polls `condition` until it holds; child processes and their checkpoints give no other signal. */
export async function until(
  condition: () => Promise<boolean> | boolean,
  what: string,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
