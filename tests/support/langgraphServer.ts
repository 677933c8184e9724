import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import os from "node:os";
import path from "node:path";
import { PROJECT_ROOT } from "./cli.js";

const CHILD = path.join(PROJECT_ROOT, "tests/support/langgraph-server-child.ts");

export interface LangGraphServer {
  /** Base URL for the SDK's Client. */
  url: string;
  /** Ends the server process and removes its storage. */
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.on("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

/**
 * Starts the LangGraph API server in a child process on a free port, with the offline
 * model, no analytics and storage in a temporary directory.
 */
export async function startLangGraphServer(env: NodeJS.ProcessEnv = {}): Promise<LangGraphServer> {
  const port = await freePort();
  const storage = await mkdtemp(path.join(os.tmpdir(), "orchestra-langgraph-api-"));
  const child = spawn(process.execPath, ["--import", "tsx", CHILD, String(port), storage], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, ORCHESTRA_MODEL: "offline", LANGGRAPH_CLI_NO_ANALYTICS: "1", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the server did not start in 60 s:\n${output}`)), 60_000);
      child.stderr.on("data", (chunk) => (output += chunk));
      child.stdout.on("data", (chunk) => {
        output += chunk;
        if (/^ready$/m.test(output)) {
          clearTimeout(timer);
          resolve();
        }
      });
      void exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`the server exited with code ${code} before it was ready:\n${output}`));
      });
    });
  } catch (error) {
    child.kill("SIGKILL");
    await rm(storage, { recursive: true, force: true });
    throw error;
  }
  return {
    url: `http://127.0.0.1:${port}`,
    async stop() {
      child.kill("SIGTERM");
      await exited;
      await rm(storage, { recursive: true, force: true });
    },
  };
}
