import type { ChildProcess } from "node:child_process";
import { once } from "node:events";
import type { Socket } from "node:net";

const EXIT_CODES = { SIGINT: 130, SIGTERM: 143 } as const;
type HandledSignal = keyof typeof EXIT_CODES;

/** Servers this process started and has not stopped yet, with their (memoised) stop. */
const running = new Map<ChildProcess, () => Promise<void>>();
let signalled = false;

/**
 * Takes charge of a Postgres server process we started: it is stopped by the returned function
 * (idempotent), on SIGINT/SIGTERM when nobody else handles them, and at the latest on process exit.
 */
export function adoptServer(server: ChildProcess): () => Promise<void> {
  // The server must never be what keeps this process alive: onExit stops it when we go.
  server.unref();
  for (const stream of [server.stdin, server.stdout, server.stderr]) (stream as Socket | null)?.unref();

  let stopping: Promise<void> | undefined;
  const stop = () => (stopping ??= stopServer(server));
  if (running.size === 0) install();
  running.set(server, stop);
  return stop;
}

async function stopServer(server: ChildProcess): Promise<void> {
  if (server.exitCode === null && server.signalCode === null) {
    const exited = once(server, "exit");
    // Keep the process alive until the server is down, or a caller awaiting stop() is cut short.
    server.ref();
    // Fast shutdown: ends open sessions, writes a checkpoint, removes postmaster.pid.
    server.kill("SIGINT");
    await exited;
  }
  running.delete(server);
  if (running.size === 0) uninstall();
}

function onExit(): void {
  // Last chance, and only synchronous work is possible here: ask each server to shut itself down.
  for (const server of running.keys()) server.kill("SIGINT");
}

function onSignal(signal: HandledSignal): void {
  // Another listener means other code owns shutdown (say, letting a graph step finish); it should
  // call stop()/close(), and onExit covers it if it does not.
  if (process.listenerCount(signal) > 1) return;
  // A second signal while stopping means the user is done waiting.
  if (signalled) process.exit(EXIT_CODES[signal]);
  signalled = true;
  void Promise.allSettled([...running.values()].map((stop) => stop())).then(() => process.exit(EXIT_CODES[signal]));
}

const onSigint = () => onSignal("SIGINT");
const onSigterm = () => onSignal("SIGTERM");

function install(): void {
  process.on("exit", onExit);
  process.on("SIGINT", onSigint);
  process.on("SIGTERM", onSigterm);
}

function uninstall(): void {
  process.off("exit", onExit);
  process.off("SIGINT", onSigint);
  process.off("SIGTERM", onSigterm);
}
