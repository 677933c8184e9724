import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { once } from "node:events";
import path from "node:path";
import { Client } from "@langchain/langgraph-sdk";
import { PROJECT_ROOT } from "../support/cli.js";

const ORCHESTRA = path.join(PROJECT_ROOT, "scripts/orchestra.js");

export interface ServerProcess {
  url: string;
  child: ChildProcessWithoutNullStreams;
  /** Everything the process wrote, for failure messages. */
  output(): string;
  client(apiKey?: string): Client;
  /** Sends the signal and waits for the process to exit; returns its exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** `orchestra serve` (scripts/orchestra.js, as users start it) in a child process on a port the OS picks, with the offline model. */
export async function startServer(
  schema: string,
  env: NodeJS.ProcessEnv = {},
  args: string[] = [],
  nodeArgs: string[] = [],
): Promise<ServerProcess> {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", ...nodeArgs, ORCHESTRA, "serve", "--port", "0", "--json", ...args],
    {
      cwd: PROJECT_ROOT,
      env: { ...process.env, ORCHESTRA_MODEL: "offline", ORCHESTRA_DB_SCHEMA: schema, ...env },
    },
  );
  let output = "";
  child.stderr.on("data", (chunk) => (output += chunk));
  const exited = once(child, "exit");
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the server did not start in 60 s:\n${output}`)), 60_000);
    child.stdout.on("data", (chunk) => {
      output += chunk;
      // stdout's address line, not one of the JSON log lines stderr interleaves.
      const line = output.split("\n").find((l) => l.startsWith('{"url"'));
      if (line) {
        clearTimeout(timer);
        resolve((JSON.parse(line) as { url: string }).url);
      }
    });
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`the server exited before it was ready:\n${output}`));
    });
  });
  return {
    url,
    child,
    output: () => output,
    client: (apiKey) => new Client({ apiUrl: url, ...(apiKey ? { apiKey } : {}), callerOptions: { maxRetries: 0 } }),
    async stop(signal = "SIGTERM") {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill(signal);
      const [code] = (await exited) as [number | null];
      return code;
    },
  };
}

/** The parallel workflow's input; `review: never` runs it through without pausing. */
export const TASK = { task: "Compare solar and wind power for a small island grid" };
