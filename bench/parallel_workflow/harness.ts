import { EventEmitter, setMaxListeners } from "node:events";
import os from "node:os";
import { MemorySaver, type BaseCheckpointSaver } from "@langchain/langgraph";
import { PostgresSaver } from "@langchain/langgraph-checkpoint-postgres";
import pg from "pg";
import { CHECKPOINTER_CONNECTIONS, openCheckpointer } from "../../checkpoints/index.js";
import { LATENCY_ENV } from "../../models/offline/runtime.js";
import type { Task } from "../../state/parallel_workflow/input.js";
import {
  MERGE_SYNTHESIS,
  MergeSynthesisSchema,
  QUALITY_JUDGEMENT,
  QualityJudgementSchema,
  TASK_ANALYSIS,
  TaskAnalysisSchema,
} from "../../state/parallel_workflow/outputs.js";
import { BRANCH_FINDINGS, BranchFindingsSchema } from "../../state/shared/findings.js";
import { eventsOf, type WorkflowStateType } from "../../state/parallel_workflow/workflow.js";
import { pinIdleLoad } from "../idle_load.js";
import { type ApiCreatesResult, apiRun, measureApiCreates, startFleet, watchFleet } from "../server.js";
import { interleaved, ratio, spread, timed, type Spread } from "../stats.js";
import { storageOf, type StorageBytes } from "../storage.js";
import { CallTracer, criticalPathCalls, modelOnlyReplay, planOf, promiseAllReplay } from "../trace.js";
import { registeredWorkflow, type CompiledWorkflow } from "../workflows.js";
import { compileBareTopology } from "./topology.js";

export interface BenchOptions {
  /** Fan-outs for critical path, Promise.all and storage. */
  branches: number[];
  /** Fan-outs for the L = 0 framework floor. */
  floorBranches: number[];
  /** Threads at once for the concurrency figures (each a 5-branch workflow). */
  threads: number[];
  /** Simulated model latency, ms. */
  latencyMs: number;
  /**
   * `orchestra serve` processes to measure API throughput with (at the widest `threads`), and the
   * API's overhead per run with the first; none by default, so callers that only want the
   * in-process figures start no servers (npm run bench asks for 1 and 2).
   */
  serverProcesses: number[];
  /** threads.create + runs.create pairs sent at once to the first server, against as many SELECT 1 round trips. */
  createPairs: number;
  /**
   * "Wide and slow": this many runs at once through the API at `wideLatencyMs`, with each of
   * `serverProcesses`; 0 skips it.
   */
  wideRuns: number;
  wideLatencyMs: number;
  /** Timed runs per figure; the median is reported with min and max. */
  repeats: number;
  /** Default: env DATABASE_URL, else the embedded Postgres. */
  databaseUrl?: string;
  /** Schema the bench owns: dropped before and after. */
  schema: string;
  progress?: (message: string) => void;
}

export const DEFAULT_OPTIONS: BenchOptions = {
  branches: [5, 20, 100],
  floorBranches: [5, 20, 100],
  threads: [1, 10, 50],
  latencyMs: 100,
  serverProcesses: [],
  createPairs: 200,
  wideRuns: 0,
  wideLatencyMs: 3000,
  repeats: 7,
  schema: "orchestra_bench",
};

// ---------------------------------------------------------------------------------------
// Workload

/**
 * The offline planner gives five branches per task; stated complexity 0.9 and no
 * sequencing words make the plan parallel, so the fan-out is 5 × tasks.
 */
export function benchTasks(branches: number): Task[] {
  if (branches % 5 !== 0) throw new Error(`branches must be a multiple of 5, got ${branches}`);
  return Array.from({ length: branches / 5 }, (_, i) => ({
    description: `Assess storage option ${i + 1} for a semantic search service: its latency, cost and operational risk`,
    complexity: 0.9,
  }));
}

/**
 * LangChain adds an abort listener per task to the super-step's shared signal, so a
 * fan-out wider than 10 trips Node's leak warning once per run. It is not a leak (the
 * step's signal goes when the step ends), and the warnings would bury the progress lines.
 */
export function allowWideFanOut(branches: number[]): () => void {
  const previous = EventEmitter.defaultMaxListeners;
  setMaxListeners(Math.max(previous, ...branches) + 10);
  return () => setMaxListeners(previous);
}

/** The concurrency limit defaults to the fan-out, so it does not bind. */
function runConfig(threadId: string, branches: number, extra: Record<string, unknown> = {}, maxConcurrency = branches) {
  return {
    configurable: { thread_id: threadId, review: "never", model: "offline", maxConcurrency },
    ...extra,
  };
}

let threadSeq = 0;
const newThread = (label: string) => `bench-${label}-${process.pid}-${++threadSeq}`;

function setLatency(ms: number) {
  process.env[LATENCY_ENV] = String(ms);
}

type Workflow = CompiledWorkflow<"parallel_workflow">;
type BareTopology = ReturnType<typeof compileBareTopology>;

export async function runWorkflow(workflow: Workflow, branches: number, maxConcurrency = branches) {
  const threadId = newThread(`w${branches}`);
  const final = (await workflow.invoke(
    { taskQueue: benchTasks(branches) },
    runConfig(threadId, branches, {}, maxConcurrency),
  )) as WorkflowStateType;
  const succeeded = Object.values(final.completedBranches).filter((r) => r.status === "success").length;
  if (final.status !== "completed" || succeeded !== branches) {
    throw new Error(`workflow ${threadId} ended ${final.status} with ${succeeded}/${branches} branches`);
  }
  return threadId;
}

async function runBare(bare: BareTopology, branches: number, width: number) {
  await bare.invoke({ branches, width }, { configurable: { thread_id: newThread(`bare${branches}`) } });
}

// ---------------------------------------------------------------------------------------
// The trace: every model call of one run, with its super-step and task

async function traceWorkflow(compile: (checkpointer: BaseCheckpointSaver) => Workflow, branches: number) {
  const tracer = new CallTracer();
  const threadId = newThread(`trace${branches}`);
  const final = (await compile(new MemorySaver()).invoke(
    { taskQueue: benchTasks(branches) },
    runConfig(threadId, branches, { callbacks: [tracer] }),
  )) as WorkflowStateType;
  const plan = planOf([...tracer.calls.values()]);
  const waves = eventsOf(final.executionTimeline, "wave_dispatched");
  return {
    plan,
    criticalCalls: criticalPathCalls(plan),
    totalCalls: tracer.calls.size,
    waves: waves.length,
    waveWidth: Math.max(...waves.map((w) => w.branches.length)),
  };
}

/** The research workflow's structured outputs by tool name, for the Promise.all replay. */
const SCHEMAS = {
  [TASK_ANALYSIS]: TaskAnalysisSchema,
  [BRANCH_FINDINGS]: BranchFindingsSchema,
  [MERGE_SYNTHESIS]: MergeSynthesisSchema,
  [QUALITY_JUDGEMENT]: QualityJudgementSchema,
};

// ---------------------------------------------------------------------------------------
// The bench

export interface CriticalPathResult {
  branches: number;
  waves: number;
  waveWidth: number;
  modelCalls: number;
  criticalCalls: number;
  idealMs: number;
  workflowMs: Spread;
  promiseAllMs: Spread;
  /** Ratios of medians. */
  wallOverIdeal: number;
  workflowOverPromiseAll: number;
  promiseAllOverIdeal: number;
  /** (ideal + the bare topology's wall on PostgresSaver at L = 0) / ideal: what LangGraph alone allows. */
  frameworkBound?: number;
}

/** Bare rows run on the stock PostgresSaver, the workflow on openCheckpointer's. */
export interface FloorRow {
  wallMs: Spread;
  cpuMs: Spread;
}

export interface FloorResult {
  branches: number;
  superSteps: number;
  bareMemory: FloorRow;
  barePostgres: FloorRow;
  workflowMemory: FloorRow;
  /** On openCheckpointer's saver, which batches each save into one statement. */
  workflowPostgres: FloorRow;
  workflowStockPostgres: FloorRow;
  /** The same model calls as plain Promise.all: the agents' own CPU. */
  promiseAll: FloorRow;
  /** The offline model's own answers to the same calls, without LangChain around them: the test double's share. */
  model: FloorRow;
  /** The workflow's CPU, as shipped, less the offline model's own, over the bare floor: the product's overhead alone. */
  cpuOverFloorWithoutModel: number;
  /** The workflow's CPU, as shipped, over the bare topology's on the stock PostgresSaver (medians). */
  cpuOverFloor: number;
  /** The same with the workflow on the stock PostgresSaver too: our nodes and state alone. */
  cpuOverFloorStock: number;
  /** Workflow CPU minus the bare floor and the agents' own, both on the stock saver: what our nodes and state cost. */
  ownCpuMs: number;
  /** PostgresSaver minus MemorySaver, per super-step (medians). */
  checkpointPerStep: { bareWallMs: number; bareCpuMs: number; workflowWallMs: number; workflowCpuMs: number };
}

export interface ConcurrencyResult {
  threads: number;
  branches: number;
  idealPerSecond: number;
  perSecond: Spread;
  /** Median throughput over ideal. */
  ofIdeal: number;
  /** After a GC, before the batch; and the peak sampled every 10 ms during it. */
  rssBeforeMb: number;
  peakRssMb: number;
}

export interface StorageResult extends StorageBytes {
  branches: number;
  /** Set when the concurrency limit binds: the fan-out then runs in waves. */
  maxConcurrency?: number;
  perBranch: number;
  /** Bytes each branch added over the previous fan-out: flat when storage grows linearly. */
  marginalPerBranch?: number;
}

export interface ServerThroughputResult {
  processes: number;
  /** Runs each process executes at once. */
  workers: number;
  threads: number;
  branches: number;
  idealPerSecond: number;
  perSecond: Spread;
  ofIdeal: number;
  /** Over the timed batches: CPU per run of each server process and of the Postgres backends serving them, ms. */
  processCpuMsPerRun: number[];
  postgresCpuMsPerRun: number;
  peakSessions: number;
}

/** Many runs that mostly wait on the model: what one deployment's concurrency, not its CPU, allows. */
export interface WideServerResult {
  processes: number;
  workers: number;
  runs: number;
  latencyMs: number;
  /** Critical-path calls × L: what every run at once would take with no queueing. */
  idealMs: number;
  wallMs: number;
  wallOverIdeal: number;
  peakSessions: number;
  processCpuMsPerRun: number[];
  postgresCpuMsPerRun: number;
}

export interface ApiOverheadResult {
  branches: number;
  /** One run through the API (runs.wait on a made thread), one server process. */
  apiMs: Spread;
  /** The same workflow invoked in this process on the same database. */
  directMs: Spread;
  apiOverDirect: number;
}

export interface BenchResults {
  date: string;
  machine: { cpus: number; cpuModel: string; node: string; postgres: string; platform: string };
  options: Omit<BenchOptions, "progress" | "databaseUrl">;
  durationSeconds: number;
  criticalPath: CriticalPathResult[];
  floor: FloorResult[];
  concurrency: ConcurrencyResult[];
  server: ServerThroughputResult[];
  serverWide: WideServerResult[];
  apiOverhead?: ApiOverheadResult;
  /** Thread and run creation through the API, on one idle process, against bare SELECT 1 round trips. */
  apiCreates?: ApiCreatesResult;
  storage: StorageResult[];
  /** The widest fan-out under the default concurrency limit of 5, in waves. */
  storageInWaves?: StorageResult;
  /** Per-branch bytes at the widest fan-out over the narrowest; with one fan-out, none. */
  storageGrowth?: number;
  /** Marginal bytes per branch at the widest step over the narrowest; with under three fan-outs, none. */
  marginalGrowth?: number;
}

export async function runBench(given: Partial<BenchOptions> = {}): Promise<BenchResults> {
  const options = { ...DEFAULT_OPTIONS, ...given };
  const log = options.progress ?? (() => {});
  const began = performance.now();
  const unpinLoad = pinIdleLoad();
  const disallowWideFanOut = allowWideFanOut([...options.branches, ...options.floorBranches]);
  const previousLatency = process.env[LATENCY_ENV];

  const db = await openCheckpointer({ databaseUrl: options.databaseUrl, schema: options.schema, onProgress: log });
  const postgres: PostgresSaver = db.checkpointer;
  // db.pool is uncapped (it holds the CLI's per-thread locks): the stock saver gets a pool of the
  // size openCheckpointer's saver has, like for like, and within the server's max_connections.
  const databaseUrl = db.pool.options.connectionString!;
  const stockPool = new pg.Pool({ connectionString: databaseUrl, max: CHECKPOINTER_CONNECTIONS });
  try {
    await db.pool.query(
      `TRUNCATE "${options.schema}".checkpoints, "${options.schema}".checkpoint_blobs, "${options.schema}".checkpoint_writes`,
    );
    const version = (await db.pool.query<{ server_version: string }>("SHOW server_version")).rows[0]!.server_version;

    // Warm-up: module loading, JIT and the pool's connections would otherwise land on the first figure.
    setLatency(0);
    // Compiled once, through the registry, as the CLI and the server do: compiling is not part of a run.
    const { name: graphId, compile } = await registeredWorkflow("parallel_workflow");
    const workflow = compile(postgres);
    // The floor is LangGraph's own: the bare topology on the stock PostgresSaver. The
    // workflow runs on what openCheckpointer opens, and once on the stock saver too.
    const stock = new PostgresSaver(stockPool, undefined, { schema: options.schema });
    // The bare topology runs under the workflow's own recursion limit.
    const bare = compileBareTopology(stock, workflow.config?.recursionLimit);
    const workflowStock = compile(stock);
    await runWorkflow(workflow, 5);
    await runBare(bare, 5, 5);

    // 1, 2, 5: critical path, Promise.all, storage, at latency L.
    setLatency(options.latencyMs);
    const criticalPath: CriticalPathResult[] = [];
    const storage: StorageResult[] = [];
    const traces = new Map<number, Awaited<ReturnType<typeof traceWorkflow>>>();
    for (const branches of options.branches) {
      log(`critical path: ${branches} branches, L=${options.latencyMs} ms, ${options.repeats} repeats`);
      const trace = await traceWorkflow(compile, branches);
      traces.set(branches, trace);
      const baseline = promiseAllReplay(trace.plan, SCHEMAS);
      let lastThread = "";
      const runs = await interleaved(options.repeats, {
        workflow: () => timed(async () => (lastThread = await runWorkflow(workflow, branches))),
        promiseAll: () => timed(baseline),
      });
      const idealMs = trace.criticalCalls * options.latencyMs;
      const workflowMs = spread(runs.workflow.wall);
      const promiseAllMs = spread(runs.promiseAll.wall);
      criticalPath.push({
        branches,
        waves: trace.waves,
        waveWidth: trace.waveWidth,
        modelCalls: trace.totalCalls,
        criticalCalls: trace.criticalCalls,
        idealMs,
        workflowMs,
        promiseAllMs,
        wallOverIdeal: ratio(workflowMs.median, idealMs),
        workflowOverPromiseAll: ratio(workflowMs.median, promiseAllMs.median),
        promiseAllOverIdeal: ratio(promiseAllMs.median, idealMs),
      });
      const bytes = await storageOf(db.pool, options.schema, lastThread);
      const previous = storage.at(-1);
      storage.push({
        branches,
        ...bytes,
        perBranch: bytes.total / branches,
        ...(previous ? { marginalPerBranch: (bytes.total - previous.total) / (branches - previous.branches) } : {}),
      });
    }

    // 5, again: with the default limit of 5 the widest fan-out runs in waves, and every
    // channel a wave changes is stored whole again.
    const widest = Math.max(...options.branches);
    let storageInWaves: StorageResult | undefined;
    if (widest > 5) {
      setLatency(0);
      const bytes = await storageOf(db.pool, options.schema, await runWorkflow(workflow, widest, 5));
      storageInWaves = { branches: widest, maxConcurrency: 5, ...bytes, perBranch: bytes.total / widest };
    }

    // 3, 6: framework floor and checkpoint overhead, at L = 0.
    setLatency(0);
    const floor: FloorResult[] = [];
    for (const branches of options.floorBranches) {
      log(`framework floor: ${branches} branches, L=0, ${options.repeats * 2} repeats`);
      const trace = traces.get(branches) ?? (await traceWorkflow(compile, branches));
      const width = trace.waveWidth;
      const bareMemory = compileBareTopology(new MemorySaver(), workflow.config?.recursionLimit);
      const workflowMemory = compile(new MemorySaver());
      let postgresThread = "";
      const runs = await interleaved(options.repeats * 2, {
        bareMemory: () => timed(() => runBare(bareMemory, branches, width)),
        barePostgres: () => timed(() => runBare(bare, branches, width)),
        workflowMemory: () => timed(() => runWorkflow(workflowMemory, branches)),
        workflowPostgres: () => timed(async () => (postgresThread = await runWorkflow(workflow, branches))),
        workflowStockPostgres: () => timed(() => runWorkflow(workflowStock, branches)),
        promiseAll: () => timed(promiseAllReplay(trace.plan, SCHEMAS)),
        model: () => timed(modelOnlyReplay(trace.plan)),
      });
      const row = (k: keyof typeof runs): FloorRow => ({ wallMs: spread(runs[k].wall), cpuMs: spread(runs[k].cpu) });
      const rows = {
        bareMemory: row("bareMemory"),
        barePostgres: row("barePostgres"),
        workflowMemory: row("workflowMemory"),
        workflowPostgres: row("workflowPostgres"),
        workflowStockPostgres: row("workflowStockPostgres"),
        promiseAll: row("promiseAll"),
        model: row("model"),
      };
      const superSteps = (await storageOf(db.pool, options.schema, postgresThread)).checkpointRows;
      const perStep = (a: FloorRow, b: FloorRow, k: keyof FloorRow) => (a[k].median - b[k].median) / superSteps;
      floor.push({
        branches,
        superSteps,
        ...rows,
        cpuOverFloor: ratio(rows.workflowPostgres.cpuMs.median, rows.barePostgres.cpuMs.median),
        cpuOverFloorStock: ratio(rows.workflowStockPostgres.cpuMs.median, rows.barePostgres.cpuMs.median),
        cpuOverFloorWithoutModel: ratio(
          rows.workflowPostgres.cpuMs.median - rows.model.cpuMs.median,
          rows.barePostgres.cpuMs.median,
        ),
        ownCpuMs:
          rows.workflowStockPostgres.cpuMs.median - rows.barePostgres.cpuMs.median - rows.promiseAll.cpuMs.median,
        checkpointPerStep: {
          bareWallMs: perStep(rows.barePostgres, rows.bareMemory, "wallMs"),
          bareCpuMs: perStep(rows.barePostgres, rows.bareMemory, "cpuMs"),
          workflowWallMs: perStep(rows.workflowPostgres, rows.workflowMemory, "wallMs"),
          workflowCpuMs: perStep(rows.workflowPostgres, rows.workflowMemory, "cpuMs"),
        },
      });
    }

    // 4: threads at once, at latency L.
    setLatency(options.latencyMs);
    const concurrency: ConcurrencyResult[] = [];
    const branches = 5;
    const critical = traces.get(branches)?.criticalCalls ?? (await traceWorkflow(compile, branches)).criticalCalls;
    for (const threads of options.threads) {
      const repeats = Math.max(1, Math.ceil(options.repeats / 2));
      log(`concurrency: ${threads} threads of ${branches} branches, L=${options.latencyMs} ms, ${repeats} repeats`);
      const rates: number[] = [];
      // npm run bench passes --expose-gc, so earlier sections' garbage does not count here.
      (globalThis as { gc?: () => void }).gc?.();
      const rssBefore = process.memoryUsage().rss;
      let peakRss = rssBefore;
      for (let r = 0; r < repeats; r++) {
        const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 10);
        try {
          const { wallMs } = await timed(() =>
            Promise.all(Array.from({ length: threads }, () => runWorkflow(workflow, branches))),
          );
          rates.push(threads / (wallMs / 1000));
        } finally {
          clearInterval(sampler);
        }
      }
      const idealPerSecond = threads / ((critical * options.latencyMs) / 1000);
      const perSecond = spread(rates);
      concurrency.push({
        threads,
        branches,
        idealPerSecond,
        perSecond,
        ofIdeal: ratio(perSecond.median, idealPerSecond),
        rssBeforeMb: rssBefore / 2 ** 20,
        peakRssMb: peakRss / 2 ** 20,
      });
    }

    // 7: the API server, N processes on one schema, at latency L.
    const server: ServerThroughputResult[] = [];
    let apiOverhead: ApiOverheadResult | undefined;
    let apiCreates: ApiCreatesResult | undefined;
    const threads = Math.max(...options.threads);
    const apiSchema = `${options.schema}_api`;
    const configurable = { review: "never", maxConcurrency: branches };
    const input = { taskQueue: benchTasks(branches) };
    for (const processes of options.serverProcesses) {
      // Each run holds a worker's session for its length: `threads` of them, over the processes.
      const workers = Math.ceil(threads / processes);
      log(`API server: ${processes} process(es) × ${workers} workers, ${threads} threads, L=${options.latencyMs} ms`);
      await db.pool.query(`DROP SCHEMA IF EXISTS "${apiSchema}" CASCADE`);
      const fleet = await startFleet({
        processes,
        workers,
        databaseUrl,
        schema: apiSchema,
        latencyMs: options.latencyMs,
      });
      try {
        const newApiThread = async (i: number) => (await fleet.clients[i % processes]!.threads.create()).thread_id;
        for (let i = 0; i < processes; i++)
          await apiRun(fleet.clients[i]!, graphId, await newApiThread(i), input, configurable);
        const rates: number[] = [];
        const batches = Math.max(1, Math.ceil(options.repeats / 2));
        let watched = { processCpuMs: fleet.pids.map(() => 0), postgresCpuMs: 0, peakSessions: 0 };
        for (let r = 0; r < batches; r++) {
          const threadIds = await Promise.all(Array.from({ length: threads }, (_, i) => newApiThread(i)));
          const watch = await watchFleet(fleet, db.pool);
          const { wallMs } = await timed(() =>
            Promise.all(
              threadIds.map((id, i) => apiRun(fleet.clients[i % processes]!, graphId, id, input, configurable)),
            ),
          );
          const load = await watch.stop();
          watched = {
            processCpuMs: watched.processCpuMs.map((ms, i) => ms + load.processCpuMs[i]!),
            postgresCpuMs: watched.postgresCpuMs + load.postgresCpuMs,
            peakSessions: Math.max(watched.peakSessions, load.peakSessions),
          };
          rates.push(threads / (wallMs / 1000));
        }
        const idealPerSecond = threads / ((critical * options.latencyMs) / 1000);
        const perSecond = spread(rates);
        server.push({
          processes,
          workers,
          threads,
          branches,
          idealPerSecond,
          perSecond,
          ofIdeal: ratio(perSecond.median, idealPerSecond),
          processCpuMsPerRun: watched.processCpuMs.map((ms) => ms / (threads * batches)),
          postgresCpuMsPerRun: watched.postgresCpuMs / (threads * batches),
          peakSessions: watched.peakSessions,
        });
        if (apiOverhead === undefined) {
          log(`API overhead: one run at a time, API against direct, ${options.repeats} repeats`);
          const runs = await interleaved(options.repeats, {
            api: async () => {
              const threadId = await newApiThread(0);
              return timed(() => apiRun(fleet.clients[0]!, graphId, threadId, input, configurable));
            },
            direct: () => timed(() => runWorkflow(workflow, branches)),
          });
          const apiMs = spread(runs.api.wall);
          const directMs = spread(runs.direct.wall);
          apiOverhead = { branches, apiMs, directMs, apiOverDirect: ratio(apiMs.median, directMs.median) };
          log(
            `API creates: ${options.createPairs} threads.create + runs.create pairs at once, against as many SELECT 1 round trips`,
          );
          apiCreates = await measureApiCreates({
            client: fleet.clients[0]!,
            graphId,
            input,
            configurable,
            databaseUrl,
            schema: apiSchema,
            pairs: options.createPairs,
            repeats: Math.max(1, Math.ceil(options.repeats / 2)),
          });
        }
      } finally {
        await fleet.stop();
        await db.pool.query(`DROP SCHEMA IF EXISTS "${apiSchema}" CASCADE`).catch(() => {});
      }
    }

    const serverWide: WideServerResult[] = [];
    for (const processes of options.wideRuns > 0 ? options.serverProcesses : []) {
      log(
        `API server, wide and slow: ${options.wideRuns} runs at once on ${processes} process(es), L=${options.wideLatencyMs} ms`,
      );
      await db.pool.query(`DROP SCHEMA IF EXISTS "${apiSchema}" CASCADE`);
      serverWide.push(
        await wideAndSlow({
          ...options,
          processes,
          databaseUrl,
          schema: apiSchema,
          sql: db.pool,
          graphId,
          critical,
          input,
          configurable,
        }),
      );
      await db.pool.query(`DROP SCHEMA IF EXISTS "${apiSchema}" CASCADE`).catch(() => {});
    }

    const first = storage[0];
    const last = storage.at(-1);
    for (const row of criticalPath) {
      const bareWall = floor.find((f) => f.branches === row.branches)?.barePostgres.wallMs.median;
      if (bareWall !== undefined) row.frameworkBound = ratio(row.idealMs + bareWall, row.idealMs);
    }
    const marginals = storage.flatMap((s) => (s.marginalPerBranch === undefined ? [] : [s.marginalPerBranch]));
    return {
      date: new Date().toISOString(),
      machine: {
        cpus: os.availableParallelism(),
        cpuModel: os.cpus()[0]?.model ?? "unknown",
        node: process.version,
        postgres: version,
        platform: `${os.platform()} ${os.release()}`,
      },
      options: {
        branches: options.branches,
        floorBranches: options.floorBranches,
        threads: options.threads,
        latencyMs: options.latencyMs,
        serverProcesses: options.serverProcesses,
        createPairs: options.createPairs,
        wideRuns: options.wideRuns,
        wideLatencyMs: options.wideLatencyMs,
        repeats: options.repeats,
        schema: options.schema,
      },
      durationSeconds: (performance.now() - began) / 1000,
      criticalPath,
      floor,
      concurrency,
      server,
      serverWide,
      ...(apiOverhead ? { apiOverhead } : {}),
      ...(apiCreates ? { apiCreates } : {}),
      storage,
      ...(storageInWaves ? { storageInWaves } : {}),
      ...(first && last && first !== last ? { storageGrowth: last.perBranch / first.perBranch } : {}),
      ...(marginals.length > 1 ? { marginalGrowth: marginals.at(-1)! / marginals[0]! } : {}),
    };
  } finally {
    unpinLoad();
    disallowWideFanOut();
    if (previousLatency === undefined) delete process.env[LATENCY_ENV];
    else process.env[LATENCY_ENV] = previousLatency;
    await db.pool.query(`DROP SCHEMA IF EXISTS "${options.schema}" CASCADE`).catch(() => {});
    await stockPool.end();
    await db.close();
  }
}

/** `runs` runs at once through `processes` servers whose model answers after `wideLatencyMs`: wall time against the ideal, sessions, CPU. */
async function wideAndSlow(options: {
  processes: number;
  wideRuns: number;
  wideLatencyMs: number;
  databaseUrl: string;
  schema: string;
  sql: pg.Pool;
  graphId: string;
  critical: number;
  input: Record<string, unknown>;
  configurable: Record<string, unknown>;
}): Promise<WideServerResult> {
  const { processes, wideRuns: runs, wideLatencyMs: latencyMs } = options;
  const workers = Math.ceil(runs / processes);
  const fleet = await startFleet({
    processes,
    workers,
    databaseUrl: options.databaseUrl,
    schema: options.schema,
    latencyMs,
  });
  try {
    const client = (i: number) => fleet.clients[i % processes]!;
    const threadIds = await Promise.all(
      Array.from({ length: runs }, async (_, i) => (await client(i).threads.create()).thread_id),
    );
    const watch = await watchFleet(fleet, options.sql);
    const { wallMs } = await timed(() =>
      Promise.all(
        threadIds.map((id, i) => apiRun(client(i), options.graphId, id, options.input, options.configurable)),
      ),
    );
    const load = await watch.stop();
    const idealMs = options.critical * latencyMs;
    return {
      processes,
      workers,
      runs,
      latencyMs,
      idealMs,
      wallMs,
      wallOverIdeal: ratio(wallMs, idealMs),
      peakSessions: load.peakSessions,
      processCpuMsPerRun: load.processCpuMs.map((ms) => ms / runs),
      postgresCpuMsPerRun: load.postgresCpuMs / runs,
    };
  } finally {
    await fleet.stop();
  }
}
