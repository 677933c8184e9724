import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { createInterface } from "node:readline";
import { PROJECT_ROOT } from "./cli.js";

export interface ReceivedCall {
  method: string;
  path: string;
  idempotencyKey: string | null;
  acted: boolean;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
}

export interface Receiver {
  /** `http://127.0.0.1:<port>` */
  url: string;
  child: ChildProcess;
  /** Everything the receiver logged on stdout so far. */
  output(): string;
  received(): Promise<ReceivedCall[]>;
  stop(): Promise<void>;
}

/** The repo's dev receiver as a child process on a port the OS picks. */
export async function startReceiver(args: string[] = []): Promise<Receiver> {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", path.join(PROJECT_ROOT, "scripts/dev_receiver.ts"), "--port", "0", "--json", ...args],
    {
      cwd: PROJECT_ROOT,
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let stdout = "";
  const lines = createInterface({ input: child.stdout! });
  const url = await new Promise<string>((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`dev receiver exited with ${code}`)));
    lines.on("line", (line) => {
      stdout += `${line}\n`;
      const listening = (JSON.parse(line) as { listening?: string }).listening;
      if (listening) resolve(listening);
    });
  });
  return {
    url,
    child,
    output: () => stdout,
    received: async () => (await (await fetch(`${url}/_received`)).json()) as ReceivedCall[],
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
      }),
  };
}
