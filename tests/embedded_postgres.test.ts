import type { ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, rm, writeFile } from "node:fs/promises";
import net from "node:net";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEmbeddedPostgres, type EmbeddedPostgresOptions } from "../db/embedded.js";
import { pidOwner, readPostmasterPid } from "../db/pidfile.js";
import { spawnTracked } from "./support/cli.js";
import { embeddedRoot, startEmbeddedOnOsPort } from "./support/embedded.js";

// The first start takes a port from the OS; the tests after it restart on the same one.
let PORT: number;
const REPO = fileURLToPath(new URL("..", import.meta.url));
const CHILD = fileURLToPath(new URL("./support/embedded_child.ts", import.meta.url));

let root: string;
let dataDir: string;
const children: ChildProcess[] = [];

beforeAll(async () => {
  root = await embeddedRoot("orchestra-embedded-test-");
  dataDir = path.join(root, "postgres");
});

afterAll(async () => {
  for (const child of children) child.kill("SIGKILL");
  const pid = await serverPid();
  // The stale-pid test plants this worker's own pid.
  if (pid !== undefined && pid !== process.pid && alive(pid)) {
    process.kill(pid, "SIGCONT");
    process.kill(pid, "SIGKILL");
  }
  await rm(root, { recursive: true, force: true });
});

function start(options: Omit<EmbeddedPostgresOptions, "dataDir" | "port"> = {}) {
  return startEmbeddedPostgres({ dataDir, port: PORT, ...options });
}

const serverPid = async () => (await readPostmasterPid(dataDir))?.pid;

/** A zombie or a reused pid counts as gone, as it does for the product. */
const alive = (pid: number) => pidOwner(pid) !== "none";

async function query<Row extends pg.QueryResultRow>(url: string, sql: string): Promise<Row[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<Row>(sql)).rows;
  } finally {
    await client.end();
  }
}

async function accepts(url: string): Promise<boolean> {
  return query(url, "SELECT 1").then(
    () => true,
    () => false,
  );
}

async function eventually(condition: () => Promise<boolean>, what: string): Promise<void> {
  for (const deadline = Date.now() + 10_000; Date.now() < deadline; await sleep(100)) {
    if (await condition()) return;
  }
  throw new Error(`timed out waiting until ${what}`);
}

/** Runs tests/support/embedded_child.ts and resolves once its server is up. */
async function startChild(mode: "stay" | "leave" | "own-sigint"): Promise<ChildProcess> {
  const child = spawnTracked(process.execPath, ["--import", "tsx", CHILD, dataDir, String(PORT), mode], { cwd: REPO });
  children.push(child);
  let output = "";
  await new Promise<void>((resolve, reject) => {
    const collect = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes("ready")) resolve();
    };
    child.stdout!.on("data", collect);
    child.stderr!.on("data", collect);
    child.on("exit", (code) => reject(new Error(`child exited (${code}) before it was ready:\n${output}`)));
  });
  return child;
}

function exitOf(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.on("exit", (code) => resolve(code)));
}

// The tests share one data folder and run in order, each starting from what the previous one left.
describe("startEmbeddedPostgres", () => {
  it("initialises a new data folder, creates the orchestra database, and stops", async () => {
    const progress: string[] = [];
    const server = await startEmbeddedOnOsPort({ dataDir, onProgress: (message) => progress.push(message) });
    PORT = server.port;

    expect(progress).toEqual([`Starting embedded Postgres in ${dataDir} (first run: initialising)…`]);
    expect(server).toMatchObject({ dataDir, port: PORT, owned: true });
    expect(server.databaseUrl).toBe(`postgres://postgres:postgres@127.0.0.1:${PORT}/orchestra`);
    expect(existsSync(path.join(dataDir, "PG_VERSION"))).toBe(true);
    await query(server.databaseUrl, "CREATE TABLE marker (id int)");

    await server.stop();
    await server.stop();
    expect(await accepts(server.databaseUrl)).toBe(false);
    expect(await serverPid()).toBeUndefined();
  });

  it("starts again on the same data without initialising", async () => {
    const progress: string[] = [];
    const server = await start({ onProgress: (message) => progress.push(message) });
    try {
      expect(progress).toEqual([`Starting embedded Postgres in ${dataDir}…`]);
      expect(await query(server.databaseUrl, "SELECT * FROM marker")).toEqual([]);
    } finally {
      await server.stop();
    }
  });

  it("lets two starts at once share one server", async () => {
    await (await start()).stop(); // initialised, so both go straight to starting the server
    const [first, second] = await Promise.all([start(), start()]);
    try {
      expect([first.owned, second.owned].sort()).toEqual([false, true]);
      expect(await accepts(second.databaseUrl)).toBe(true);
    } finally {
      await Promise.all([first.stop(), second.stop()]);
    }
    expect(await serverPid()).toBeUndefined();
  });

  it("stops its server and exits 143 on SIGTERM", async () => {
    const child = await startChild("stay");
    expect(await serverPid()).toBeDefined();
    child.kill("SIGTERM");
    expect(await exitOf(child)).toBe(143);
    expect(await serverPid()).toBeUndefined();
  });

  it("stops its server when its process simply ends, keeping the exit code", async () => {
    const child = await startChild("leave");
    expect(await exitOf(child)).toBe(3);
    await eventually(async () => (await serverPid()) === undefined, "the server has shut down");
  });

  it("leaves SIGINT to the process's own handler, and still stops its server on exit", async () => {
    const child = await startChild("own-sigint");
    child.kill("SIGINT");
    expect(await exitOf(child)).toBe(4);
    await eventually(async () => (await serverPid()) === undefined, "the server has shut down");
  });

  it("reuses the server a killed process left running, and leaves it running", async () => {
    const child = await startChild("stay");
    child.kill("SIGKILL");
    await exitOf(child);
    const orphan = await serverPid();
    expect(orphan !== undefined && alive(orphan)).toBe(true);

    const progress: string[] = [];
    const server = await start({ onProgress: (message) => progress.push(message) });
    expect(server.owned).toBe(false);
    expect(progress).toEqual([
      `Using the embedded Postgres already running in ${dataDir} (pid ${orphan}, port ${PORT})`,
    ]);
    expect(await query(server.databaseUrl, "SELECT * FROM marker")).toEqual([]);

    await server.stop();
    expect(await accepts(server.databaseUrl)).toBe(true);
  });

  it("errors clearly when the server holding the folder does not answer", async () => {
    const orphan = (await serverPid())!;
    process.kill(orphan, "SIGSTOP");
    try {
      const error = await start().then(
        () => undefined,
        (reason: Error) => reason,
      );
      expect(error?.message).toMatch(
        new RegExp(
          `^Postgres \\(pid ${orphan}\\) is running in .+ but does not accept connections on port ${PORT} \\(.+\\); stop it with \`kill ${orphan}\``,
        ),
      );
    } finally {
      process.kill(orphan, "SIGCONT");
    }
  });

  it("recovers from the stale postmaster.pid of a killed server", async () => {
    const orphan = (await serverPid())!;
    process.kill(orphan, "SIGKILL");

    const server = await start();
    try {
      expect(server.owned).toBe(true);
      expect(await serverPid()).not.toBe(orphan);
      expect(await query(server.databaseUrl, "SELECT * FROM marker")).toEqual([]);
    } finally {
      await server.stop();
    }
  });

  it("treats a postmaster.pid naming another live program as stale", async () => {
    // After a container restart the old pid may belong to anything; this worker stands in for it.
    await writeFile(path.join(dataDir, "postmaster.pid"), `${process.pid}\n${dataDir}\n0\n${PORT}\n\n127.0.0.1\n`);
    const server = await start();
    try {
      expect(server.owned).toBe(true);
      expect(await accepts(server.databaseUrl)).toBe(true);
    } finally {
      await server.stop();
    }
  });

  it("explains a port taken by another program, with Postgres' log", async () => {
    const squatter = net.createServer();
    await new Promise<void>((resolve) => squatter.listen(PORT, "127.0.0.1", resolve));
    try {
      const error = await start().then(
        () => undefined,
        (reason: Error) => reason,
      );
      expect(error?.message).toContain(
        `Embedded Postgres could not start in ${dataDir} on port ${PORT}: port ${PORT} is taken`,
      );
      expect(error?.message).toContain("ORCHESTRA_EMBEDDED_PG_PORT");
      expect(error?.message).toContain("Last Postgres log lines:");
      expect(error?.message).toContain("Address already in use");
    } finally {
      await new Promise((resolve) => squatter.close(resolve));
    }
  });

  it.runIf(process.getuid?.() === 0)("explains a data folder the postgres user cannot reach", async () => {
    const locked = path.join(root, "locked");
    await mkdir(locked, { mode: 0o700 });
    const inside = path.join(locked, "postgres");
    await expect(startEmbeddedPostgres({ dataDir: inside, port: PORT })).rejects.toThrow(
      `Permission denied; as root, Postgres runs as the "postgres" user, which must be able to enter every folder above ${inside}`,
    );
  });

  it("explains a data folder that is a file", async () => {
    const file = path.join(root, "not-a-folder");
    await writeFile(file, "");
    await expect(startEmbeddedPostgres({ dataDir: file, port: PORT })).rejects.toThrow(
      `The embedded Postgres data folder ${file} is not a usable directory (it is a file)`,
    );
  });
});
