import os from "node:os";
import path from "node:path";
import { startEmbeddedPostgres } from "../../checkpoints/embedded.js";

// Apart from the app's 54329 and the embedded-postgres test's 54349, so all three can run at once.
const TEST_PORT = 54339;

/**
 * Gives every test worker a DATABASE_URL: yours when it is set, otherwise one embedded Postgres
 * shared by the whole run, its data kept between runs so only the first pays for initdb.
 */
export default async function setup(): Promise<(() => Promise<void>) | undefined> {
  if (process.env.DATABASE_URL?.trim()) return undefined;
  const server = await startEmbeddedPostgres({
    dataDir: path.join(os.tmpdir(), `orchestra-test-pg-${process.getuid?.() ?? os.userInfo().username}`),
    port: TEST_PORT,
  });
  // Vitest forks its workers after global setup, with this process's environment
  // (tests/checkpoints.test.ts checks that it arrives).
  process.env.DATABASE_URL = server.databaseUrl;
  return () => server.stop();
}
