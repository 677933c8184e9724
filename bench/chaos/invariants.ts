import { readFile } from "node:fs/promises";
import type pg from "pg";
import type { CallLogEntry } from "../../models/offline/runtime.js";
import { completedTasks, fencedWrites, leaseHistory } from "./audit.js";
import { type Clis, type Fleet, rssMb } from "./processes.js";
import type { Job } from "./workloads.js";

/** What the checks read once the faults stopped and everything settled. */
export interface InvariantContext {
  db: pg.Pool;
  schema: string;
  fleet: Fleet;
  clis: Clis;
  jobs: Job[];
  /** The offline model's call log of every process (ORCHESTRA_OFFLINE_CALL_LOG). */
  callLog: string;
  /** Runs still pending or running once lease + grace had passed after the last fault. */
  unsettledRuns: { run_id: string; thread_id: string; status: string }[];
  settleLimitMs: number;
  /** Each slot's resident memory once warmed up, before the first fault. */
  baselineRssMb: number[];
}

/** A broken invariant; `at`, when known, places it after a fault step. */
export interface Finding {
  message: string;
  at?: Date;
}

/** A system-wide property the soak checks after its faults; the outbox's and the events' slot in as one entry each. */
export interface Invariant {
  name: string;
  check(context: InvariantContext): Promise<Finding[]>;
}

const runsSettle: Invariant = {
  name: "every accepted run reaches a terminal or waiting state within lease + grace",
  check: async ({ unsettledRuns, settleLimitMs }) =>
    unsettledRuns.map((run) => ({
      message: `run ${run.run_id} (thread ${run.thread_id}) still ${run.status} ${settleLimitMs} ms after the last fault`,
    })),
};

const threadsEnd: Invariant = {
  name: "every thread's head resumes to its end",
  check: async ({ jobs }) =>
    jobs
      .filter((job) => !job.done)
      .map((job) => ({ message: `${job.workload} thread ${job.threadId}: ${job.stuck ?? "not driven to its end"}` })),
};

const fencing: Invariant = {
  name: "no checkpoint or write by a fenced owner",
  check: async ({ db, schema }) =>
    (await fencedWrites(db, schema)).map((w) => ({
      at: w.at,
      message: `${w.app} wrote a ${w.kind} of thread ${w.thread_id} at ${w.at.toISOString()} after ${w.holder} had taken its lease over`,
    })),
};

/**
 * A model call for a task whose result was already saved, made by the thread's lease holder of
 * that moment: a completed branch, step or agent run twice. A fenced process's call in flight is
 * not one: its result is refused at its write.
 */
const noRerun: Invariant = {
  name: "no completed branch, step or agent ran twice",
  async check({ db, schema, fleet, clis, callLog }) {
    const [tasks, leases, text] = await Promise.all([
      completedTasks(db, schema),
      leaseHistory(db, schema),
      readFile(callLog, "utf8").catch(() => ""),
    ]);
    const findings: Finding[] = [];
    for (const line of text.split("\n").filter(Boolean)) {
      const call = JSON.parse(line) as CallLogEntry;
      const task = call.task === null ? undefined : tasks.get(call.task);
      const at = new Date(call.at);
      if (!task || at <= task.saved_at) continue;
      const caller = (fleet.byPid.get(call.pid) ?? clis.byPid.get(call.pid))?.app ?? `pid ${call.pid}`;
      const holder = (leases.get(task.thread_id) ?? []).filter((lease) => lease.at <= at).at(-1)?.app;
      if (holder !== undefined && holder !== caller) continue;
      findings.push({
        at,
        message: `${caller} called the model for ${call.node} (task ${task.task_id}, thread ${task.thread_id}) at ${call.at}, after its result was saved at ${task.saved_at.toISOString()}`,
      });
    }
    return findings;
  },
};

const historyReads: Invariant = {
  name: "every thread's history reads, as one chain",
  async check({ db, schema, fleet, jobs }) {
    const findings: Finding[] = [];
    const s = `"${schema}"`;
    const integrity = await db.query<{ missing_parents: number; missing_blobs: number }>(
      `SELECT (SELECT count(*)::int FROM ${s}.checkpoints c WHERE c.parent_checkpoint_id IS NOT NULL AND NOT EXISTS (
                 SELECT 1 FROM ${s}.checkpoints p WHERE p.thread_id = c.thread_id AND p.checkpoint_ns = c.checkpoint_ns AND p.checkpoint_id = c.parent_checkpoint_id)) AS missing_parents,
              (SELECT count(*)::int FROM ${s}.checkpoints c, jsonb_each_text(c.checkpoint -> 'channel_versions') v WHERE NOT EXISTS (
                 SELECT 1 FROM ${s}.checkpoint_blobs b WHERE b.thread_id = c.thread_id AND b.checkpoint_ns = c.checkpoint_ns AND b.channel = v.key AND b.version = v.value)) AS missing_blobs`,
    );
    const { missing_parents, missing_blobs } = integrity.rows[0]!;
    if (missing_parents) findings.push({ message: `${missing_parents} checkpoints whose parent is missing` });
    if (missing_blobs) findings.push({ message: `${missing_blobs} channel versions with no blob` });
    for (const job of jobs) {
      try {
        const history = await fleet.client().threads.getHistory(job.threadId, { limit: 1000 });
        if (history.length === 0) findings.push({ message: `${job.workload} thread ${job.threadId} has no history` });
        for (let i = 0; i < history.length - 1; i++) {
          if (history[i]!.parent_checkpoint?.checkpoint_id !== history[i + 1]!.checkpoint.checkpoint_id) {
            findings.push({
              message: `${job.workload} thread ${job.threadId}: checkpoint ${history[i]!.checkpoint.checkpoint_id} does not follow the one before it (a fork)`,
            });
            break;
          }
        }
      } catch (error) {
        findings.push({
          message: `${job.workload} thread ${job.threadId}: its history does not read: ${(error as Error).message}`,
        });
      }
    }
    return findings;
  },
};

const noOrphans: Invariant = {
  name: "no orphaned rows (leases, runs, run events)",
  async check({ db, schema }) {
    const s = `"${schema}"`;
    const { rows } = await db.query<{ leases: number; runs: number; events: number }>(
      `SELECT (SELECT count(*)::int FROM ${s}.thread_leases) AS leases,
              (SELECT count(*)::int FROM ${s}.runs r WHERE NOT EXISTS (SELECT 1 FROM ${s}.threads t WHERE t.thread_id = r.thread_id)) AS runs,
              (SELECT count(*)::int FROM ${s}.run_events e WHERE NOT EXISTS (SELECT 1 FROM ${s}.runs r WHERE r.run_id = e.run_id)) AS events`,
    );
    const { leases, runs, events } = rows[0]!;
    return [
      ...(leases ? [{ message: `${leases} thread leases left with nothing running` }] : []),
      ...(runs ? [{ message: `${runs} runs of threads that do not exist` }] : []),
      ...(events ? [{ message: `${events} run events of runs that do not exist` }] : []),
    ];
  },
};

/** Memory may grow with caches and the heap's slack, not with every fault: 1.5 × the warmed-up baseline, plus 64 MB. */
const serversUp: Invariant = {
  name: "servers stay up and their memory returns near its baseline",
  async check({ fleet, baselineRssMb }) {
    const findings: Finding[] = fleet.crashes.map((message) => ({ message }));
    for (const slot of fleet.slots) {
      if (!fleet.live().includes(slot)) {
        findings.push({ message: `${slot.app} is not up at the end` });
        continue;
      }
      const rss = rssMb(slot.child.pid);
      const limit = baselineRssMb[slot.slot]! * 1.5 + 64;
      if (rss !== undefined && rss > limit)
        findings.push({
          message: `${slot.app} holds ${rss.toFixed(0)} MB, over ${limit.toFixed(0)} MB (baseline ${baselineRssMb[slot.slot]!.toFixed(0)} MB)`,
        });
    }
    return findings;
  },
};

export const INVARIANTS: Invariant[] = [runsSettle, threadsEnd, fencing, noRerun, historyReads, noOrphans, serversUp];
