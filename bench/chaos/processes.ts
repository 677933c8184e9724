import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { setTimeout as sleep } from "node:timers/promises";
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Client } from "@langchain/langgraph-sdk";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const ORCHESTRA = path.join(ROOT, "scripts/orchestra.js");
/** What the soak keeps of a process's output, for a violation's message. */
const OUTPUT_TAIL = 200_000;

/** One process the soak started: its name in pg_stat_activity (PGAPPNAME) tells its writes apart. */
export interface Proc {
  app: string;
  child: ChildProcess;
  /** Killed or stopped by a fault: its exit is expected. */
  faulted: boolean;
  output(): string;
  exited: Promise<unknown>;
}

/** Every process the soak started: a soak cut short (Ctrl-C, a failed test) takes them with it. */
const started = new Set<Proc>();
process.on("exit", () => {
  for (const proc of started) {
    killGroup(proc, "SIGCONT");
    killGroup(proc, "SIGKILL");
  }
});

function start(app: string, args: string[], env: NodeJS.ProcessEnv): Proc {
  // A group of its own: a fault's signal reaches the process, and the soak's end reaches all it started.
  const child = spawn(process.execPath, [ORCHESTRA, ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env, PGAPPNAME: app },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  let output = "";
  const keep = (chunk: Buffer) => (output = (output + chunk.toString()).slice(-OUTPUT_TAIL));
  child.stdout!.on("data", keep);
  child.stderr!.on("data", keep);
  const exited = new Promise((resolve) => child.once("exit", resolve).once("error", resolve));
  const proc: Proc = { app, child, faulted: false, output: () => output, exited };
  started.add(proc);
  void exited.then(() => started.delete(proc));
  return proc;
}

/** The lines of a crash worth reading: the error and where it was thrown, not the objects Node prints with it. */
function crashLines(output: string): string {
  const lines = output.split("\n");
  const first = lines.findIndex((line) => /^\S*(Error|error)\b|^node:internal|Uncaught|^\s+at /.test(line));
  return (first < 0 ? lines.slice(-20) : lines.slice(Math.max(0, first - 2), first + 12)).join("\n");
}

export const isRunning = (proc: Proc) => proc.child.exitCode === null && proc.child.signalCode === null;

/** Resident memory in MB, from /proc; undefined once the process is gone. */
export function rssMb(pid: number | undefined): number | undefined {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return match ? Number(match[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

export interface Instance extends Proc {
  slot: number;
  url: string;
  paused: boolean;
}

/**
 * N `orchestra serve` processes on one schema, as a deployment runs them. A slot whose process a
 * fault killed is started again; its new process is another incarnation, with a name of its own.
 */
export class Fleet {
  readonly slots: Instance[] = [];
  private readonly incarnations: number[] = [];
  /** Every process the fleet started, by pid: the call log names callers by pid. */
  readonly byPid = new Map<number, Proc>();
  /** Exits no fault caused: a server that crashed on its own. */
  readonly crashes: string[] = [];

  constructor(
    private readonly env: NodeJS.ProcessEnv,
    readonly size: number,
  ) {}

  async startAll(): Promise<void> {
    await Promise.all(Array.from({ length: this.size }, (_, slot) => this.start(slot)));
  }

  async start(slot: number): Promise<Instance> {
    const incarnation = (this.incarnations[slot] = (this.incarnations[slot] ?? 0) + 1);
    const proc = start(
      `chaos server-${slot}#${incarnation}`,
      ["serve", "--port", "0", "--json", "--workers", "8", "--db-pool", "4", "--grace", "1000"],
      this.env,
    );
    this.byPid.set(proc.child.pid!, proc);
    // Until it is ready, its exit is a failed start, which the caller reports.
    proc.faulted = true;
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${proc.app} did not start in 90 s:\n${proc.output()}`)), 90_000);
      const ready = (chunk: Buffer) => {
        const line = chunk
          .toString()
          .split("\n")
          .find((l) => l.startsWith("{"));
        if (!line) return;
        clearTimeout(timer);
        proc.child.stdout!.off("data", ready);
        resolve((JSON.parse(line) as { url: string }).url);
      };
      proc.child.stdout!.on("data", ready);
      void proc.exited.then(() => {
        clearTimeout(timer);
        reject(new Error(`${proc.app} exited before it was ready:\n${proc.output()}`));
      });
    });
    proc.faulted = false;
    const instance: Instance = Object.assign(proc, { slot, url, paused: false });
    void proc.exited.then(() => {
      if (!proc.faulted)
        this.crashes.push(
          `${proc.app} exited on its own (${proc.child.exitCode ?? proc.child.signalCode}): ${crashLines(proc.output())}`,
        );
    });
    this.slots[slot] = instance;
    return instance;
  }

  /** Instances that answer now: running and not stopped. */
  live(): Instance[] {
    return this.slots.filter((s) => s && isRunning(s) && !s.paused);
  }

  /** An SDK client on a live instance, the first one from `from` on. */
  client(from = 0): Client {
    const live = this.live();
    if (live.length === 0) throw new Error("no server instance is up");
    return new Client({ apiUrl: live[from % live.length]!.url, callerOptions: { maxRetries: 0 }, timeoutMs: 15_000 });
  }

  private readonly restarts = new Set<Promise<unknown>>();

  /**
   * Starts the slot again after `afterMs`, in the background, as a supervisor does: a start that
   * fails (the database is down or cut off at that moment) is tried again each second, for a minute
   * at most. stop() waits for it.
   */
  restart(slot: number, afterMs: number): void {
    const attempt = async (left: number): Promise<unknown> => {
      try {
        return await this.start(slot);
      } catch (error) {
        if (left === 0) return this.crashes.push(`slot ${slot} did not restart: ${(error as Error).message}`);
        await sleep(1000);
        return attempt(left - 1);
      }
    };
    const restart = sleep(afterMs).then(() => attempt(60));
    this.restarts.add(restart);
    void restart.finally(() => this.restarts.delete(restart));
  }

  /** Waits for the restarts under way. */
  async restarted(): Promise<void> {
    await Promise.all(this.restarts);
  }

  async kill(slot: number): Promise<void> {
    const instance = this.slots[slot]!;
    instance.faulted = true;
    instance.child.kill("SIGKILL");
    await instance.exited;
  }

  /** Ends every process the fleet started, and what they started. */
  async stop(): Promise<void> {
    await this.restarted();
    await Promise.all(
      [...this.byPid.values()].filter(isRunning).map(async (proc) => {
        proc.faulted = true;
        killGroup(proc, "SIGCONT");
        killGroup(proc, "SIGTERM");
        const timer = setTimeout(() => killGroup(proc, "SIGKILL"), 5_000);
        await proc.exited;
        clearTimeout(timer);
      }),
    );
  }
}

export function killGroup(proc: Proc, signal: NodeJS.Signals): void {
  try {
    process.kill(-proc.child.pid!, signal);
  } catch {
    // Gone already.
  }
}

/** `orchestra` CLI processes, as a user runs them; a fault may SIGKILL one mid-run. */
export class Clis {
  private count = 0;
  readonly running = new Set<Proc>();
  readonly byPid = new Map<number, Proc>();

  constructor(private readonly env: NodeJS.ProcessEnv) {}

  async run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string; proc: Proc }> {
    const proc = start(`chaos cli-${++this.count}`, args, this.env);
    this.byPid.set(proc.child.pid!, proc);
    this.running.add(proc);
    let stdout = "";
    let stderr = "";
    proc.child.stdout!.on("data", (chunk) => (stdout += chunk));
    proc.child.stderr!.on("data", (chunk) => (stderr += chunk));
    const [code] = (await once(proc.child, "close")) as [number | null];
    this.running.delete(proc);
    return { code, stdout, stderr, proc };
  }

  stop(): void {
    for (const proc of this.running) killGroup(proc, "SIGKILL");
  }
}
