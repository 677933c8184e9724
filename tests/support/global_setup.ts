import { rm } from "node:fs/promises";
import path from "node:path";
import { embeddedRoot, startEmbeddedOnOsPort } from "./embedded.js";

/**
 * Gives every test worker a DATABASE_URL: yours when it is set, otherwise an embedded Postgres of
 * this run's own, in a new temp folder on a port from the OS, so two runs on one machine never
 * share a server; it is stopped and its folder removed when the run ends.
 */
export default async function setup(): Promise<(() => Promise<void>) | undefined> {
  if (process.env.DATABASE_URL?.trim()) return undefined;
  const root = await embeddedRoot("orchestra-test-pg-");
  try {
    const server = await startEmbeddedOnOsPort({ dataDir: path.join(root, "postgres") });
    // Vitest forks its workers after global setup, with this process's environment
    // (tests/checkpoints.test.ts checks that it arrives).
    process.env.DATABASE_URL = server.databaseUrl;
    return async () => {
      await server.stop();
      await rm(root, { recursive: true, force: true });
    };
  } catch (error) {
    await rm(root, { recursive: true, force: true });
    throw error;
  }
}
