import { existsSync } from "node:fs";
import { mkdir, readdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pidOwner, readPostmasterPid } from "../db/pidfile.js";
import { until } from "./support/calls.js";
import { finished, PROJECT_ROOT, spawnTracked } from "./support/cli.js";
import { embeddedRoot } from "./support/embedded.js";

// `npm start` as a new user runs it: no DATABASE_URL, so the embedded Postgres starts in the
// working directory's .data/postgres on port 54329. It runs in a copy of the project made of
// links, so the repository's own .data is never touched.

const DEFAULT_PORT = 54329;
// The default port is one per machine: two test runs at once take turns through this lock.
const PORT_LOCK = path.join(os.tmpdir(), "orchestra-default-port.lock");

let copy: string;
let releaseLock: (() => Promise<void>) | undefined;

/** Environment with no database, schema or embedded-Postgres settings: the defaults apply. */
const DEFAULTS_ENV: NodeJS.ProcessEnv = {
  DATABASE_URL: "",
  ORCHESTRA_DB_SCHEMA: "",
  ORCHESTRA_EMBEDDED_PG_DIR: "",
  ORCHESTRA_EMBEDDED_PG_PORT: "",
  ORCHESTRA_MODEL: "",
  OPENAI_API_KEY: "",
};

beforeAll(async () => {
  copy = await embeddedRoot("orchestra-npm-start-");
  for (const entry of await readdir(PROJECT_ROOT)) {
    if (entry === ".data" || entry === ".git") continue;
    await symlink(path.join(PROJECT_ROOT, entry), path.join(copy, entry));
  }
  releaseLock = await lockDefaultPort();
});
afterAll(async () => {
  try {
    const server = copy ? await readPostmasterPid(path.join(copy, ".data/postgres")) : undefined;
    if (server && pidOwner(server.pid) === "postgres") process.kill(server.pid, "SIGKILL");
    if (copy) await rm(copy, { recursive: true, force: true });
  } finally {
    await releaseLock?.();
  }
});

/** Holds a lock file naming this process; a lock whose holder is gone is taken over. */
async function lockDefaultPort(): Promise<() => Promise<void>> {
  await until(
    async () => {
      try {
        await mkdir(PORT_LOCK);
        await writeFile(path.join(PORT_LOCK, "pid"), String(process.pid));
        return true;
      } catch {
        const holder = Number(await readFile(path.join(PORT_LOCK, "pid"), "utf8").catch(() => "0"));
        if (holder && pidOwner(holder) === "none") await rm(PORT_LOCK, { recursive: true, force: true });
        return false;
      }
    },
    `the lock on port ${DEFAULT_PORT} (${PORT_LOCK})`,
    300_000,
  );
  return () => rm(PORT_LOCK, { recursive: true, force: true });
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once("error", () => resolve(false));
    probe.listen(port, "127.0.0.1", () => probe.close(() => resolve(true)));
  });
}

const npm = (args: string[]) =>
  finished(
    spawnTracked("npm", args, {
      cwd: copy,
      env: { ...process.env, ...DEFAULTS_ENV, npm_config_update_notifier: "false" },
    }),
  );

describe("npm start with nothing configured", () => {
  it("runs the demo on an embedded Postgres in .data/postgres on port 54329, and stops it on exit", async () => {
    await until(
      () => portFree(DEFAULT_PORT),
      `port ${DEFAULT_PORT} to be free (stop the \`npm start\` using it)`,
      60_000,
    );
    expect(existsSync(path.join(copy, ".data"))).toBe(false);

    const started = await npm(["start", "--silent"]);
    expect(started.code, started.stderr).toBe(0);
    expect(started.stderr).toContain("Starting embedded Postgres in .data/postgres (first run: initialising)…");
    expect(started.stdout).toMatch(/paused for review at sync_point_manager/);
    expect(existsSync(path.join(copy, ".data/postgres/PG_VERSION"))).toBe(true);
    // Stopped on exit: the server removes its postmaster.pid as it shuts down.
    expect(await readPostmasterPid(path.join(copy, ".data/postgres"))).toBeUndefined();

    const status = await npm(["run", "--silent", "orchestra", "--", "db", "status", "--json"]);
    expect(status.code, status.stderr).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ location: `embedded (.data/postgres, port ${DEFAULT_PORT})` });
  });
});
