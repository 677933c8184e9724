import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { PROJECT_ROOT, spawnTracked } from "./cli.js";

const CHILD = path.join(PROJECT_ROOT, "tests/support/langgraph_server_child.ts");

export interface LangGraphServer {
  /** Base URL for the SDK's Client. */
  url: string;
  /** Ends the server process and removes its storage. */
  stop(): Promise<void>;
}

/**
 * Starts the LangGraph API server in a child process on a port the OS picks, with the offline
 * model, no analytics and storage in a temporary directory.
 */
export async function startLangGraphServer(env: NodeJS.ProcessEnv = {}): Promise<LangGraphServer> {
  const storage = await mkdtemp(path.join(os.tmpdir(), "orchestra-langgraph-api-"));
  const child = spawnTracked(process.execPath, ["--import", "tsx", CHILD, "0", storage], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, ORCHESTRA_MODEL: "offline", LANGGRAPH_CLI_NO_ANALYTICS: "1", ...env },
  });
  let output = "";
  let port = 0;
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the server did not start in 60 s:\n${output}`)), 60_000);
      child.stderr!.on("data", (chunk) => (output += chunk));
      child.stdout!.on("data", (chunk) => {
        output += chunk;
        const ready = /^ready (\d+)$/m.exec(output);
        if (ready) {
          port = Number(ready[1]);
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
