import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { track, trackGroup } from "./children.js";

export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const ORCHESTRA = path.join(PROJECT_ROOT, "scripts/orchestra.js");

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Starts `orchestra` as a user would, with no terminal attached; killed with its test file if still running. */
export function spawnCli(args: string[], env: NodeJS.ProcessEnv = {}, cwd = PROJECT_ROOT): ChildProcess {
  return spawnTracked(process.execPath, [ORCHESTRA, ...args], { cwd, env: { ...process.env, ...env } });
}

/**
 * A child process with piped output, leading a process group of its own: it and whatever it
 * starts (MCP servers, say) are killed with its test file, even when the test killed only it.
 */
export function spawnTracked(
  command: string,
  args: string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv },
): ChildProcess {
  const child = spawn(command, args, { ...options, stdio: ["ignore", "pipe", "pipe"], detached: true });
  trackGroup(child.pid);
  return track(child, new Promise((resolve) => child.once("close", resolve).once("error", resolve)));
}

export function finished(child: ChildProcess): Promise<CliResult> {
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (chunk) => (stdout += chunk));
  child.stderr?.on("data", (chunk) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

export const runCli = (args: string[], env: NodeJS.ProcessEnv = {}) => finished(spawnCli(args, env));

/** The `--json` result: the last line of stdout. */
export function jsonResult(result: CliResult) {
  const last = result.stdout.trim().split("\n").at(-1) ?? "";
  try {
    return JSON.parse(last) as {
      threadId: string;
      status: string;
      next: string[];
      qualityScore: number | null;
      report: string | null;
      reviewPoint: string | null;
    };
  } catch {
    throw new Error(`no JSON result on stdout:\n${result.stdout}\nstderr:\n${result.stderr}`);
  }
}
