import { existsSync, readFileSync } from "node:fs";
import { readFile, rm } from "node:fs/promises";
import path from "node:path";

/** What a data folder's postmaster.pid says about the server that holds (or held) it. */
export interface PostmasterPid {
  /** NaN when the file is garbled. */
  pid: number;
  /** Undefined when the file is garbled or the server died before writing it. */
  port: number | undefined;
}

const PID_FILE = "postmaster.pid";

export async function readPostmasterPid(dataDir: string): Promise<PostmasterPid | undefined> {
  let text: string;
  try {
    text = await readFile(path.join(dataDir, PID_FILE), "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  // Line 1 is the postmaster's pid, line 4 its port (see PostgreSQL's pidfile.h).
  const lines = text.split("\n");
  const port = Number(lines[3]);
  return { pid: Number(lines[0]), port: Number.isInteger(port) && port > 0 ? port : undefined };
}

export async function removePostmasterPid(dataDir: string): Promise<void> {
  await rm(path.join(dataDir, PID_FILE), { force: true });
}

/**
 * Who holds `pid` now. A killed postmaster lingers as a zombie until it is reaped, and after a
 * container restart its pid may belong to another program; Postgres refuses to start over both
 * because the pid still answers kill(pid, 0).
 */
export function pidOwner(pid: number): "none" | "postgres" | "other" {
  if (!Number.isInteger(pid) || pid <= 0) return "none";
  try {
    process.kill(pid, 0);
  } catch (error) {
    // EPERM: alive, but another user's.
    if ((error as NodeJS.ErrnoException).code !== "EPERM") return "none";
  }
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    // Without /proc (macOS) we cannot tell; trust the pid as Postgres itself does.
    return existsSync("/proc/self/stat") ? "none" : "postgres";
  }
  // "<pid> (<command>) <state> ..."; the command may itself contain ") ".
  const match = /^\d+ \((.*)\) (\S)/s.exec(stat);
  if (!match || match[2] === "Z" || match[2] === "X") return "none";
  return match[1] === "postgres" ? "postgres" : "other";
}
