import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import type pg from "pg";
import type { Clis, Fleet } from "./processes.js";

/** What a workload drives its thread with. */
export interface WorkloadContext {
  fleet: Fleet;
  clis: Clis;
  /** The soak's own connection to Postgres, not through the proxy. */
  db: pg.Pool;
  schema: string;
  /** Past this moment a thread that has not reached its end is given up (and reported). */
  deadline(): number;
}

/** One thread a workload started and drives to its end, through whatever faults come. */
export interface Job {
  workload: string;
  threadId: string;
  done: boolean;
  /** Why it was given up, if it was. */
  stuck?: string;
}

/**
 * A kind of work the soak keeps in flight. Webhook and event workloads slot in as one entry each:
 * a name, a weight, and how to drive one thread to its end.
 */
export interface Workload {
  name: string;
  weight: number;
  drive(context: WorkloadContext, job: Job): Promise<void>;
}

/** A graph served by the fleet: what a run starts with, and what answers its human steps. */
interface ServedThread {
  graph: string;
  input: unknown;
  context?: Record<string, unknown>;
  /** The answer to any interrupt the thread waits at. */
  resume: unknown;
}

const TASK = "Compare solar and wind power for a small island grid";

/** The thread's runs, from the database: how many, and how many not yet over. */
async function runsOf(context: WorkloadContext, threadId: string): Promise<{ total: number; active: number }> {
  const { rows } = await context.db.query<{ total: number; active: number }>(
    `SELECT count(*)::int AS total, (count(*) FILTER (WHERE status IN ('pending', 'running')))::int AS active
     FROM "${context.schema}".runs WHERE thread_id = $1`,
    [threadId],
  );
  return rows[0]!;
}

/**
 * Drives a served thread to its end through any live instance: starts it once, answers each
 * interrupt, and after a run that failed (its database went away, say) starts a run with no
 * input, which continues from the thread's head. Errors of the moment (an instance killed
 * mid-request, Postgres restarting) are retried.
 */
async function driveServed(context: WorkloadContext, job: Job, spec: ServedThread): Promise<void> {
  let attempt = 0;
  let lastError = "";
  while (Date.now() < context.deadline()) {
    try {
      const runs = await runsOf(context, job.threadId);
      if (runs.active > 0) {
        await sleep(250);
        continue;
      }
      const client = context.fleet.client(attempt++);
      const options = spec.context ? { context: spec.context } : {};
      if (runs.total === 0) {
        await client.threads.create({ threadId: job.threadId, ifExists: "do_nothing" });
        await client.runs.create(job.threadId, spec.graph, {
          input: spec.input as Record<string, unknown>,
          ...options,
        });
        continue;
      }
      const state = await client.threads.getState(job.threadId);
      if (state.tasks.some((task) => task.interrupts.length > 0)) {
        await client.runs.create(job.threadId, spec.graph, { command: { resume: spec.resume }, ...options });
      } else if (state.next.length === 0) {
        job.done = true;
        return;
      } else {
        await client.runs.create(job.threadId, spec.graph, { input: null, ...options });
      }
    } catch (error) {
      lastError = (error as Error).message;
      await sleep(500);
    }
  }
  job.stuck = `not at its end by the deadline${lastError ? ` (last error: ${lastError.slice(0, 200)})` : ""}`;
}

const served = (name: string, weight: number, spec: ServedThread): Workload => ({
  name,
  weight,
  drive: (context, job) => driveServed(context, job, spec),
});

/** The engine's saga drill: s3 always fails (the processes' fault plan), so s2 and s1 are compensated. */
export const SAGA_DEFINITION = {
  name: "chaos_saga",
  steps: ["chaos_saga_s1", "chaos_saga_s2", "chaos_saga_s3"].map((stepId, i, all) => ({
    stepId,
    stepType: "sequential",
    dependencies: i ? [all[i - 1]] : [],
    action: { llm: `Do ${stepId}.` },
    rollbackActions: [`Undo ${stepId}.`],
  })),
};
export const SAGA_FAULTS = { chaos_saga_s3: { fail: 1_000_000 } };

/**
 * The CLI runs the research workflow on its own thread, taking the thread's lease as a server
 * does; after a kill, `orchestra resume` continues it. Exit 2 is a lease still held (a killed
 * CLI's, until it expires): wait and try again.
 */
async function driveCli(context: WorkloadContext, job: Job): Promise<void> {
  let lastError = "";
  while (Date.now() < context.deadline()) {
    const { rows } = await context.db
      .query<{ n: number }>(`SELECT count(*)::int AS n FROM "${context.schema}".checkpoints WHERE thread_id = $1`, [
        job.threadId,
      ])
      .catch(() => ({ rows: [{ n: -1 }] }));
    if (rows[0]!.n < 0) {
      await sleep(500);
      continue;
    }
    const args =
      rows[0]!.n === 0
        ? ["run", TASK, "--thread", job.threadId, "--review", "never", "--json"]
        : ["resume", job.threadId, "--json"];
    const result = await context.clis.run(args);
    const last = result.stdout.trim().split("\n").at(-1) ?? "";
    if (
      (result.code === 0 && /"status":\s*"completed"/.test(last)) ||
      /has already finished \(completed\)/.test(result.stderr)
    ) {
      job.done = true;
      return;
    }
    lastError = result.stderr.trim().split("\n").at(-1) ?? `exit ${result.code ?? result.proc.child.signalCode}`;
    await sleep(result.code === 2 ? 1000 : 300);
  }
  job.stuck = `the CLI did not finish it by the deadline (last: ${lastError.slice(0, 200)})`;
}

export const WORKLOADS: Workload[] = [
  // Reviewed at each of its review points, through the API as a reviewer would.
  served("research-review", 3, {
    graph: "parallel_workflow",
    input: { task: TASK },
    resume: { action: "approve", reviewer: "chaos" },
  }),
  served("dynamic-agents", 2, {
    graph: "dynamic_agents",
    input: [
      {
        description: "Survey open-source vector databases for a 10M-document search service",
        type: "research",
        complexity: 0.9,
      },
      { description: "Analyse total cost of ownership of self-hosting versus managed vector search", type: "analysis" },
    ],
    context: { review: "never" },
    resume: { action: "approve", reviewer: "chaos" },
  }),
  served("engine-approval", 2, {
    graph: "enterprise_workflow",
    input: { definition: "financial_transaction", input: { amount: 10001 } },
    resume: { decision: "approve", reviewer: "chaos", role: "compliance_officer" },
  }),
  // An inline child asks a manager (tests/enterprise_workflow/fixtures/children, ORCHESTRA_WORKFLOWS_DIR).
  served("engine-subworkflow", 1, {
    graph: "enterprise_workflow",
    input: { definition: "delegating", input: {} },
    resume: { decision: "approve", reviewer: "chaos", role: "manager" },
  }),
  served("engine-saga", 1, {
    graph: "enterprise_workflow",
    input: { definition: SAGA_DEFINITION, input: {} },
    resume: null,
  }),
  { name: "cli-research", weight: 2, drive: driveCli },
];

export const newJob = (workload: Workload): Job => ({ workload: workload.name, threadId: randomUUID(), done: false });
