import { readdirSync, readFileSync } from "node:fs";

/**
 * Every process a test starts, until it exits: tests/support/cleanup.ts kills what is left when a
 * test file ends, or its worker exits, so a failed assertion never leaves a hung `orchestra` behind.
 * A child started in a process group of its own takes that group with it: the processes it started
 * (an MCP server, a Postgres) die with the file even when the test killed only the child.
 */
interface Killable {
  kill(signal?: NodeJS.Signals): unknown;
}

/** A process group a test started: its leader's pid and, to tell it from a later process given the same number, its start time. */
interface Group {
  pgid: number;
  started: number | undefined;
}

// On globalThis: a worker may evaluate these modules once per test file, and its exit hook
// must see the processes of whichever file is running.
const KEY = Symbol.for("orchestra.tests.children");
const GROUPS = Symbol.for("orchestra.tests.groups");
const store = globalThis as { [KEY]?: Set<Killable>; [GROUPS]?: Group[] };
const running = (store[KEY] ??= new Set());
const groups = (store[GROUPS] ??= []);

/** Tracks `child` until `exited` settles; returns the child. */
export function track<T extends Killable>(child: T, exited: Promise<unknown>): T {
  running.add(child);
  void exited.finally(() => running.delete(child));
  return child;
}

/** Tracks the process group `leader` leads (a child spawned detached, or in a terminal of its own), until the file ends. */
export function trackGroup(leader: number | undefined): void {
  if (leader) groups.push({ pgid: leader, started: processEntry(leader)?.started });
}

interface ProcessEntry {
  pid: number;
  ppid: number;
  pgid: number;
  /** Clock ticks after boot. */
  started: number;
  command: string;
}

/** One running process, from /proc (Linux); undefined when gone, a zombie, or not on Linux. */
function processEntry(pid: number): ProcessEntry | undefined {
  if (process.platform !== "linux") return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // After the command name in parentheses: state, ppid, pgrp, session, …, starttime (field 22).
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (fields[0] === "Z") return undefined;
    const command = readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ").trim();
    return { pid, ppid: Number(fields[1]), pgid: Number(fields[2]), started: Number(fields[19]), command };
  } catch {
    return undefined;
  }
}

/** The machine's processes, by pid. */
function processTable(): Map<number, ProcessEntry> {
  const table = new Map<number, ProcessEntry>();
  if (process.platform !== "linux") return table;
  for (const name of readdirSync("/proc")) {
    const entry = /^\d+$/.test(name) ? processEntry(Number(name)) : undefined;
    if (entry) table.set(entry.pid, entry);
  }
  return table;
}

/**
 * The members of the tracked groups still running. PIDs are reused (pid_max may be 32768): a group
 * whose leader's pid now belongs to a process started at another time is no longer ours.
 */
function groupMembers(table: Map<number, ProcessEntry>): ProcessEntry[] {
  const ours = groups.filter(({ pgid, started }) => {
    const leader = table.get(pgid);
    return !leader || leader.started === started;
  });
  return [...table.values()].filter((p) => ours.some((g) => g.pgid === p.pgid));
}

/** SIGKILLs every tracked process still running, and every process left in a tracked group. */
export function killRunningChildren(): void {
  for (const child of running) {
    try {
      child.kill("SIGKILL");
    } catch {
      // Gone between its exit and our hearing of it.
    }
  }
  running.clear();
  for (const member of groupMembers(processTable())) {
    try {
      process.kill(member.pid, "SIGKILL");
    } catch {
      // Gone meanwhile.
    }
  }
}

/**
 * Processes this test file left running: members of the groups it started, descendants of this
 * worker, and processes of the test run's own group that lost their parent (an orphan of a
 * killed child) and descend from no test worker. Only those started after this worker count as
 * orphans: what shares the group from before (`npm test | tee log`: the pipeline's other
 * commands) is not the test's.
 */
export function leftoverProcesses(): string[] {
  const table = processTable();
  const descends = (entry: ProcessEntry, ancestor: number) => {
    for (let p: ProcessEntry | undefined = entry, hops = 0; p && hops < 64; p = table.get(p.ppid), hops++)
      if (p.ppid === ancestor) return true;
    return false;
  };
  const me = table.get(process.pid);
  if (!me) return [];
  const ancestors = new Set<number>();
  for (let p: ProcessEntry | undefined = me; p; p = table.get(p.ppid)) ancestors.add(p.pid);
  const left = new Set([
    ...groupMembers(table),
    ...[...table.values()].filter(
      (p) =>
        descends(p, process.pid) ||
        (p.pgid === me.pgid && p.started >= me.started && !ancestors.has(p.pid) && !descends(p, process.ppid)),
    ),
  ]);
  return [...left].map((p) => `${p.pid} ${p.command.slice(0, 160)}`);
}

/** Forgets the groups of a file that has ended. */
export function forgetGroups(): void {
  groups.length = 0;
}
