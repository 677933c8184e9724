import { chmod, mkdtemp } from "node:fs/promises";
import { createServer, type AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { startEmbeddedPostgres, type EmbeddedPostgres, type EmbeddedPostgresOptions } from "../../db/embedded.js";

/** A port the OS has just handed out on the loopback interface, and released. */
export function osPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.on("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

const ATTEMPTS = 5;

/**
 * Starts the embedded Postgres on a port from the OS. Postgres binds its port itself, so no
 * socket can be handed over: another process may take the port between our probe and its bind,
 * and then the start is tried again on another port.
 */
export async function startEmbeddedOnOsPort(options: Omit<EmbeddedPostgresOptions, "port">): Promise<EmbeddedPostgres> {
  for (let attempt = 1; ; attempt++) {
    const port = await osPort();
    try {
      return await startEmbeddedPostgres({ ...options, port });
    } catch (error) {
      const taken = error instanceof Error && error.message.includes(`port ${port} is taken`);
      if (!taken || attempt === ATTEMPTS) throw error;
    }
  }
}

/**
 * A new folder for an embedded Postgres's data, under the system's temp folder. Run as root,
 * Postgres runs as the postgres user, which must get through (mkdtemp makes it 0700).
 */
export async function embeddedRoot(prefix: string): Promise<string> {
  const root = await mkdtemp(path.join(os.tmpdir(), prefix));
  await chmod(root, 0o755);
  return root;
}
