import { readFile, rm } from "node:fs/promises";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import pg from "pg";
import { openCheckpointer } from "../../checkpoints/index.js";
import { startEmbeddedPostgres, type EmbeddedPostgres } from "../../db/embedded.js";
import { embeddedRoot, startEmbeddedOnOsPort } from "../../tests/support/embedded.js";
import { startTcpProxy } from "../../tests/support/tcp_proxy.js";
import { auditSql, coverage, leasesHeld } from "./audit.js";
import { type FaultContext, nextFault } from "./faults.js";
import { INVARIANTS, type InvariantContext } from "./invariants.js";
import { Clis, Fleet, ROOT, rssMb } from "./processes.js";
import { Random } from "./random.js";
import { type Job, newJob, SAGA_FAULTS, WORKLOADS, type WorkloadContext } from "./workloads.js";

export interface SoakOptions {
  seed: number;
  faults: number;
  /** Server instances on the one schema. */
  instances: number;
  /** Threads driven at once while the faults run. */
  inFlight: number;
  leaseMs: number;
  /** After the last fault, how long beyond the lease every accepted run gets to settle. */
  graceMs: number;
  /** The offline model's latency per call. */
  latencyMs: number;
  log(line: string): void;
}

export interface FaultRecord {
  step: number;
  kind: string;
  target: string;
  at: string;
  ms: number;
}

export interface Violation {
  invariant: string;
  message: string;
  seed: number;
  /** The fault step it came after (1-based), when the finding has a moment. */
  step: number | null;
  replay: string;
}

export interface SoakReport {
  seed: number;
  faults: number;
  faultsByKind: Record<string, number>;
  workloads: Record<string, { threads: number; ended: number }>;
  invariants: { name: string; violations: number }[];
  violations: Violation[];
  /** How long after the last fault the runs accepted before it were all over. */
  settledMs: number | null;
  /** What the checks had to work with: rows audited, model calls logged, runs taken over. */
  coverage: Record<string, number>;
  durationMs: number;
  plan: FaultRecord[];
}

const SCHEMA = "chaos";
const CHILD_DEFINITIONS = path.join(ROOT, "tests/enterprise_workflow/fixtures/children");

/** The runs accepted before `since` that are not over yet. */
async function unsettled(db: pg.Pool, since: Date) {
  const { rows } = await db.query<{ run_id: string; thread_id: string; status: string }>(
    `SELECT run_id, thread_id, status FROM "${SCHEMA}".runs WHERE created_at <= $1 AND status IN ('pending', 'running') ORDER BY created_at`,
    [since],
  );
  return rows;
}

/**
 * One soak: its own embedded Postgres behind a proxy, a fleet of servers and CLI processes on it,
 * a mixed workload kept in flight while the faults of the seed's plan are injected one after
 * another; then the settle, and every invariant checked.
 */
export async function runSoak(options: SoakOptions): Promise<SoakReport> {
  const started = Date.now();
  const root = await embeddedRoot("orchestra-chaos-");
  const dataDir = path.join(root, "postgres");
  let postgres: EmbeddedPostgres = await startEmbeddedOnOsPort({ dataDir });
  const db = new pg.Pool({ connectionString: postgres.databaseUrl, max: 3 });
  db.on("error", () => {});
  const proxy = await startTcpProxy({ host: "127.0.0.1", port: postgres.port });
  const proxied = new URL(postgres.databaseUrl);
  proxied.port = String(proxy.port);
  const env: NodeJS.ProcessEnv = {
    DATABASE_URL: proxied.toString(),
    ORCHESTRA_DB_SCHEMA: SCHEMA,
    ORCHESTRA_MODEL: "offline",
    ORCHESTRA_LEASE_MS: String(options.leaseMs),
    ORCHESTRA_OFFLINE_LATENCY_MS: String(options.latencyMs),
    ORCHESTRA_OFFLINE_CALL_LOG: path.join(root, "calls.jsonl"),
    ORCHESTRA_OFFLINE_FAULTS: JSON.stringify(SAGA_FAULTS),
    ORCHESTRA_WORKFLOWS_DIR: CHILD_DEFINITIONS,
  };
  const fleet = new Fleet(env, options.instances);
  const clis = new Clis(env);
  try {
    const { close } = await openCheckpointer({ databaseUrl: postgres.databaseUrl, schema: SCHEMA });
    await close();
    for (const sql of auditSql(SCHEMA)) await db.query(sql);
    await fleet.startAll();
    options.log(
      `chaos: seed ${options.seed}, ${options.faults} faults, ${options.instances} instances up; Postgres on port ${postgres.port} behind a proxy on ${proxy.port}`,
    );

    const faults: FaultContext = {
      fleet,
      clis,
      proxy,
      leaseMs: options.leaseMs,
      rng: new Random(options.seed),
      leasesHeld: () => leasesHeld(db, SCHEMA),
      async restartPostgres(downMs) {
        await postgres.stop();
        await sleep(downMs);
        postgres = await startEmbeddedPostgres({ dataDir, port: postgres.port });
      },
    };
    const work = { deadline: Infinity, pumping: true };
    const context: WorkloadContext = { fleet, clis, db, schema: SCHEMA, deadline: () => work.deadline };
    const { jobs, drives, pump } = startPump(context, options, work);

    // The baseline: each instance's memory once the workload has warmed it up, before any fault.
    await waitFor(() => jobs.some((j) => j.done), 120_000);
    const baselineRssMb = fleet.slots.map((s) => rssMb(s.child.pid) ?? 0);

    const plan = await injectFaults(faults, options);
    await fleet.restarted();
    const lastFault = new Date();
    work.pumping = false;
    const settleLimitMs = options.leaseMs + options.graceMs;
    // The threads' last resumes (a killed CLI's lease to wait out, reviews to answer) get twice the settle.
    work.deadline = Date.now() + 2 * settleLimitMs;
    const settledMs = await settle(db, lastFault, settleLimitMs);
    await pump;
    await Promise.all(drives);
    options.log(
      `chaos: ${jobs.filter((j) => j.done).length} of ${jobs.length} threads at their end; checking ${INVARIANTS.length} invariants`,
    );

    const checks: InvariantContext = {
      db,
      schema: SCHEMA,
      fleet,
      clis,
      jobs,
      callLog: env.ORCHESTRA_OFFLINE_CALL_LOG!,
      unsettledRuns: await unsettled(db, lastFault),
      settleLimitMs,
      baselineRssMb,
    };
    return await report(options, checks, plan, settledMs, started);
  } finally {
    clis.stop();
    await fleet.stop();
    await proxy.close();
    await db.end();
    await postgres.stop();
    await rm(root, { recursive: true, force: true });
  }
}

/** Keeps `inFlight` threads driven, drawing each one's workload from a generator of its own, until told to stop. */
function startPump(context: WorkloadContext, options: SoakOptions, work: { pumping: boolean }) {
  const rng = new Random(options.seed ^ 0x5bd1e995);
  const jobs: Job[] = [];
  const drives: Promise<void>[] = [];
  const pump = (async () => {
    while (work.pumping) {
      const active = jobs.filter((j) => !j.done && !j.stuck).length;
      for (let i = active; i < options.inFlight && work.pumping; i++) {
        const job = newJob(rng.weighted(WORKLOADS));
        jobs.push(job);
        drives.push(WORKLOADS.find((w) => w.name === job.workload)!.drive(context, job));
      }
      await sleep(200);
    }
  })();
  return { jobs, drives, pump };
}

async function injectFaults(context: FaultContext, options: SoakOptions): Promise<FaultRecord[]> {
  const plan: FaultRecord[] = [];
  for (let step = 1; step <= options.faults; step++) {
    await sleep(context.rng.between(200, 1500));
    const fault = nextFault(context);
    const at = new Date();
    const target = await fault.inject(context);
    plan.push({ step, kind: fault.kind, target, at: at.toISOString(), ms: Date.now() - at.getTime() });
    options.log(`chaos: fault ${step}/${options.faults}: ${fault.kind}: ${target}`);
  }
  return plan;
}

/** Waits until the runs accepted before the last fault are over, or the limit passed; returns how long it took, or null. */
async function settle(db: pg.Pool, lastFault: Date, limitMs: number): Promise<number | null> {
  const since = Date.now();
  while (Date.now() - since < limitMs) {
    const left = await unsettled(db, lastFault).catch(() => undefined);
    if (left?.length === 0) return Date.now() - since;
    await sleep(250);
  }
  return null;
}

async function waitFor(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition() && Date.now() < deadline) await sleep(250);
}

async function report(
  options: SoakOptions,
  checks: InvariantContext,
  plan: FaultRecord[],
  settledMs: number | null,
  started: number,
): Promise<SoakReport> {
  const replay = `npm run chaos -- --seed ${options.seed} --faults ${options.faults}`;
  const stepAt = (at: Date | undefined) => (at ? (plan.filter((f) => new Date(f.at) <= at).at(-1)?.step ?? 0) : null);
  const violations: Violation[] = [];
  const invariants: SoakReport["invariants"] = [];
  for (const invariant of INVARIANTS) {
    const findings = await invariant
      .check(checks)
      .catch((error: Error) => [{ message: `the check itself failed: ${error.message}`, at: undefined }]);
    invariants.push({ name: invariant.name, violations: findings.length });
    for (const finding of findings) {
      const step = stepAt(finding.at);
      violations.push({
        invariant: invariant.name,
        message: finding.message,
        seed: options.seed,
        step,
        replay: step ? `${replay}   # after fault step ${step}` : replay,
      });
    }
  }
  const faultsByKind: Record<string, number> = {};
  for (const fault of plan) faultsByKind[fault.kind] = (faultsByKind[fault.kind] ?? 0) + 1;
  const workloads: SoakReport["workloads"] = {};
  for (const job of checks.jobs) {
    const entry = (workloads[job.workload] ??= { threads: 0, ended: 0 });
    entry.threads++;
    if (job.done) entry.ended++;
  }
  const calls = (await readFile(checks.callLog, "utf8").catch(() => "")).split("\n").filter(Boolean).length;
  const covered = { ...(await coverage(checks.db, checks.schema)), "model calls": calls };
  return {
    seed: options.seed,
    faults: plan.length,
    faultsByKind,
    workloads,
    invariants,
    violations,
    settledMs,
    coverage: covered,
    durationMs: Date.now() - started,
    plan,
  };
}
