import pty from "node-pty";
import { PROJECT_ROOT } from "./cli.js";
import path from "node:path";
import { track, trackGroup } from "./children.js";

const ORCHESTRA = path.join(PROJECT_ROOT, "scripts/orchestra.js");
// Cursor movement, colours and the like: what a terminal interprets and a test should not read.
const ESCAPES = /\u001b\[[0-9;?]*[A-Za-z]|\u001b\][^\u0007]*\u0007/g;

/** `orchestra` in a pseudo-terminal, so it sees a TTY on stdin and stdout as a user's shell gives it. */
export function spawnInPty(args: string[], env: NodeJS.ProcessEnv = {}) {
  const child = pty.spawn(process.execPath, [ORCHESTRA, ...args], {
    cols: 200,
    rows: 60,
    cwd: PROJECT_ROOT,
    env: { ...process.env, ...env } as Record<string, string>,
  });
  let raw = "";
  child.onData((data) => (raw += data));
  const exited = new Promise<number>((resolve) => child.onExit(({ exitCode }) => resolve(exitCode)));
  track(child, exited);
  // A terminal's child leads its own session and group.
  trackGroup(child.pid);
  const text = () => raw.replace(ESCAPES, "");
  return {
    raw: () => raw,
    text,
    exited,
    write: (data: string) => child.write(data),
    /** Resolves once the screen text after `from` matches, so each answer meets its own prompt. */
    async waitFor(pattern: RegExp, from = 0, timeoutMs = 60_000): Promise<number> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const match = pattern.exec(text().slice(from));
        if (match) return from + match.index + match[0].length;
        if (Date.now() > deadline)
          throw new Error(`timed out waiting for ${pattern}; the screen ends with:\n${text().slice(-3000)}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    kill: () => child.kill(),
  };
}
