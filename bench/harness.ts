import { EventEmitter, setMaxListeners } from "node:events";
import os from "node:os";
import { BaseCallbackHandler } from "@langchain/core/callbacks/base";
import type { BaseMessage } from "@langchain/core/messages";
import { MemorySaver } from "@langchain/langgraph";
import { PostgresSaver } from "@langchain/langgraph-checkpoint-postgres";
import pg from "pg";
import { CHECKPOINTER_CONNECTIONS, openCheckpointer } from "../checkpoints/index.js";
import { RECURSION_LIMIT, compileWorkflow } from "../graphs/parallel_workflow.js";
import { OfflineChatModel } from "../models/offline/model.js";
import { LATENCY_ENV } from "../models/offline/runtime.js";
import type { Task } from "../state/parallel_workflow/input.js";
import { MERGE_SYNTHESIS, MergeSynthesisSchema, QUALITY_JUDGEMENT, QualityJudgementSchema, TASK_ANALYSIS, TaskAnalysisSchema } from "../state/parallel_workflow/outputs.js";
import { BRANCH_FINDINGS, BranchFindingsSchema } from "../state/shared/findings.js";
import { eventsOf, type WorkflowStateType } from "../state/parallel_workflow/workflow.js";
import { pinIdleLoad } from "./idle_load.js";
import { apiRun, startFleet } from "./server.js";
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
  repeats: 7,
  schema: "orchestra_bench",
};

/** Median, min and max of repeated measurements. */
export interface Spread {
  median: number;
  min: number;
  max: number;
  n: number;
}

export function spread(values: number[]): Spread {
  if (values.length === 0) throw new Error("spread of no values");
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { median, min: sorted[0]!, max: sorted.at(-1)!, n: sorted.length };
}

// ---------------------------------------------------------------------------------------
// Workload

/**
 * The offline planner gives five branches per task; stated complexity 0.9 and no
 * sequencing words make the plan parallel, so the fan-out is 5 × tasks.
 */
function benchTasks(branches: number): Task[] {
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
function allowWideFanOut(branches: number[]): () => void {
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

type Workflow = ReturnType<typeof compileWorkflow>;
type BareTopology = ReturnType<typeof compileBareTopology>;

async function runWorkflow(workflow: Workflow, branches: number, maxConcurrency = branches) {
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
  await bare.invoke(
    { branches, width },
    { configurable: { thread_id: newThread(`bare${branches}`) }, durability: "sync", recursionLimit: RECURSION_LIMIT },
  );
}

/** Wall and CPU time of one call, in ms. CPU is this process's: the Postgres server's is not in it. */
async function timed(run: () => Promise<unknown>): Promise<{ wallMs: number; cpuMs: number }> {
  const cpu = process.cpuUsage();
  const start = performance.now();
  await run();
  const wallMs = performance.now() - start;
  const used = process.cpuUsage(cpu);
  return { wallMs, cpuMs: (used.user + used.system) / 1000 };
}

// ---------------------------------------------------------------------------------------
// The trace: every model call of one run, with its super-step and task

interface TracedCall {
  step: number;
  task: string;
  node: string;
  tool: string;
  messages: BaseMessage[];
  start: number;
  end: number;
}

class CallTracer extends BaseCallbackHandler {
  name = "bench_call_tracer";
  readonly calls = new Map<string, TracedCall>();

  override async handleChatModelStart(
    _llm: unknown,
    messages: BaseMessage[][],
    runId: string,
    _parentRunId?: string,
    extraParams?: Record<string, unknown>,
    _tags?: string[],
    metadata?: Record<string, unknown>,
  ) {
    const tools = (extraParams?.options as { tools?: { function: { name: string } }[] } | undefined)?.tools ?? [];
    this.calls.set(runId, {
      step: Number(metadata?.langgraph_step),
      task: String(metadata?.langgraph_checkpoint_ns),
      node: String(metadata?.langgraph_node),
      tool: tools[0]?.function.name ?? "",
      messages: messages[0]!,
      start: performance.now(),
      end: Number.POSITIVE_INFINITY,
    });
  }

  override async handleLLMEnd(_output: unknown, runId: string) {
    const call = this.calls.get(runId);
    if (call) call.end = performance.now();
  }
}

/** One super-step: its tasks, each a sequence of rounds of calls that ran at the same time. */
type CallPlan = { step: number; tasks: { node: string; rounds: TracedCall[][] }[] }[];

/**
 * Groups the traced calls by super-step and task; within a task, a call that starts
 * after one of the current round has ended starts a new round (it waited for it).
 */
function planOf(calls: TracedCall[]): CallPlan {
  const steps = new Map<number, Map<string, TracedCall[]>>();
  for (const call of calls) {
    const tasks = steps.get(call.step) ?? new Map<string, TracedCall[]>();
    tasks.set(call.task, [...(tasks.get(call.task) ?? []), call]);
    steps.set(call.step, tasks);
  }
  return [...steps.entries()]
    .sort(([a], [b]) => a - b)
    .map(([step, tasks]) => ({
      step,
      tasks: [...tasks.values()].map((taskCalls) => {
        const rounds: TracedCall[][] = [];
        for (const call of [...taskCalls].sort((a, b) => a.start - b.start)) {
          const round = rounds.at(-1);
          if (round && call.start < Math.min(...round.map((c) => c.end))) round.push(call);
          else rounds.push([call]);
        }
        return { node: taskCalls[0]!.node, rounds };
      }),
    }));
}

/** Model calls one after another on the longest path: per super-step, its deepest task. */
const criticalPathCalls = (plan: CallPlan) =>
  plan.reduce((sum, step) => sum + Math.max(...step.tasks.map((t) => t.rounds.length)), 0);

async function traceWorkflow(branches: number) {
  const tracer = new CallTracer();
  const threadId = newThread(`trace${branches}`);
  const final = (await compileWorkflow(new MemorySaver()).invoke(
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

const SCHEMAS = {
  [TASK_ANALYSIS]: TaskAnalysisSchema,
  [BRANCH_FINDINGS]: BranchFindingsSchema,
  [MERGE_SYNTHESIS]: MergeSynthesisSchema,
  [QUALITY_JUDGEMENT]: QualityJudgementSchema,
} as const;

/**
 * The zero-orchestration baseline: the traced run's model calls with the same prompts and
 * structured outputs, in the same order and with the same parallelism, as plain async code.
 */
function promiseAllBaseline(plan: CallPlan) {
  const model = new OfflineChatModel();
  const structured = Object.fromEntries(
    Object.entries(SCHEMAS).map(([name, schema]) => [name, model.withStructuredOutput(schema, { name })]),
  );
  return async () => {
    for (const step of plan) {
      await Promise.all(
        step.tasks.map(async (task) => {
          for (const round of task.rounds) {
            await Promise.all(round.map((call) => structured[call.tool]!.invoke(call.messages)));
          }
        }),
      );
    }
  };
}

// ---------------------------------------------------------------------------------------
// Storage

export interface StorageBytes {
  checkpoints: number;
  blobs: number;
  writes: number;
  total: number;
  checkpointRows: number;
}

async function storageOf(db: { pool: import("pg").Pool }, schema: string, threadId: string): Promise<StorageBytes> {
  const bytes = async (table: string) => {
    const { rows } = await db.pool.query<{ bytes: string | null; rows: string }>(
      `SELECT sum(pg_column_size(t.*)) AS bytes, count(*) AS rows FROM "${schema}".${table} t WHERE thread_id = $1`,
      [threadId],
    );
    return { bytes: Number(rows[0]!.bytes ?? 0), rows: Number(rows[0]!.rows) };
  };
  const [checkpoints, blobs, writes] = await Promise.all([
    bytes("checkpoints"),
    bytes("checkpoint_blobs"),
    bytes("checkpoint_writes"),
  ]);
  return {
    checkpoints: checkpoints.bytes,
    blobs: blobs.bytes,
    writes: writes.bytes,
    total: checkpoints.bytes + blobs.bytes + writes.bytes,
    checkpointRows: checkpoints.rows,
  };
}

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
  apiOverhead?: ApiOverheadResult;
  storage: StorageResult[];
  /** The widest fan-out under the default concurrency limit of 5, in waves. */
  storageInWaves?: StorageResult;
  /** Per-branch bytes at the widest fan-out over the narrowest; with one fan-out, none. */
  storageGrowth?: number;
  /** Marginal bytes per branch at the widest step over the narrowest; with under three fan-outs, none. */
  marginalGrowth?: number;
}

const ratio = (a: number, b: number) => (b === 0 ? Number.NaN : a / b);

/** Runs each side once per repeat, alternating which goes first, so drift hits both alike. */
async function interleaved<K extends string>(
  repeats: number,
  sides: Record<K, () => Promise<{ wallMs: number; cpuMs: number }>>,
): Promise<Record<K, { wall: number[]; cpu: number[] }>> {
  const keys = Object.keys(sides) as K[];
  const out = {} as Record<K, { wall: number[]; cpu: number[] }>;
  for (const key of keys) out[key] = { wall: [], cpu: [] };
  for (let r = 0; r < repeats; r++) {
    const order = r % 2 ? [...keys].reverse() : keys;
    for (const key of order) {
      const { wallMs, cpuMs } = await sides[key]();
      out[key].wall.push(wallMs);
      out[key].cpu.push(cpuMs);
    }
  }
  return out;
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
    await db.pool.query(`TRUNCATE "${options.schema}".checkpoints, "${options.schema}".checkpoint_blobs, "${options.schema}".checkpoint_writes`);
    const version = (await db.pool.query<{ server_version: string }>("SHOW server_version")).rows[0]!.server_version;

    // Warm-up: module loading, JIT and the pool's connections would otherwise land on the first figure.
    setLatency(0);
    // Compiled once, as the CLI and the server do: compiling is not part of a run.
    const workflow = compileWorkflow(postgres);
    // The floor is LangGraph's own: the bare topology on the stock PostgresSaver. The
    // workflow runs on what openCheckpointer opens, and once on the stock saver too.
    const stock = new PostgresSaver(stockPool, undefined, { schema: options.schema });
    const bare = compileBareTopology(stock);
    const workflowStock = compileWorkflow(stock);
    await runWorkflow(workflow, 5);
    await runBare(bare, 5, 5);

    // 1, 2, 5: critical path, Promise.all, storage, at latency L.
    setLatency(options.latencyMs);
    const criticalPath: CriticalPathResult[] = [];
    const storage: StorageResult[] = [];
    const traces = new Map<number, Awaited<ReturnType<typeof traceWorkflow>>>();
    for (const branches of options.branches) {
      log(`critical path: ${branches} branches, L=${options.latencyMs} ms, ${options.repeats} repeats`);
      const trace = await traceWorkflow(branches);
      traces.set(branches, trace);
      const baseline = promiseAllBaseline(trace.plan);
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
      const bytes = await storageOf(db, options.schema, lastThread);
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
      const bytes = await storageOf(db, options.schema, await runWorkflow(workflow, widest, 5));
      storageInWaves = { branches: widest, maxConcurrency: 5, ...bytes, perBranch: bytes.total / widest };
    }

    // 3, 6: framework floor and checkpoint overhead, at L = 0.
    setLatency(0);
    const floor: FloorResult[] = [];
    for (const branches of options.floorBranches) {
      log(`framework floor: ${branches} branches, L=0, ${options.repeats * 2} repeats`);
      const trace = traces.get(branches) ?? (await traceWorkflow(branches));
      const width = trace.waveWidth;
      const bareMemory = compileBareTopology(new MemorySaver());
      const workflowMemory = compileWorkflow(new MemorySaver());
      let postgresThread = "";
      const runs = await interleaved(options.repeats * 2, {
        bareMemory: () => timed(() => runBare(bareMemory, branches, width)),
        barePostgres: () => timed(() => runBare(bare, branches, width)),
        workflowMemory: () => timed(() => runWorkflow(workflowMemory, branches)),
        workflowPostgres: () => timed(async () => (postgresThread = await runWorkflow(workflow, branches))),
        workflowStockPostgres: () => timed(() => runWorkflow(workflowStock, branches)),
        promiseAll: () => timed(promiseAllBaseline(trace.plan)),
      });
      const row = (k: keyof typeof runs): FloorRow => ({ wallMs: spread(runs[k].wall), cpuMs: spread(runs[k].cpu) });
      const rows = {
        bareMemory: row("bareMemory"),
        barePostgres: row("barePostgres"),
        workflowMemory: row("workflowMemory"),
        workflowPostgres: row("workflowPostgres"),
        workflowStockPostgres: row("workflowStockPostgres"),
        promiseAll: row("promiseAll"),
      };
      const superSteps = (await storageOf(db, options.schema, postgresThread)).checkpointRows;
      const perStep = (a: FloorRow, b: FloorRow, k: keyof FloorRow) => (a[k].median - b[k].median) / superSteps;
      floor.push({
        branches,
        superSteps,
        ...rows,
        cpuOverFloor: ratio(rows.workflowPostgres.cpuMs.median, rows.barePostgres.cpuMs.median),
        cpuOverFloorStock: ratio(rows.workflowStockPostgres.cpuMs.median, rows.barePostgres.cpuMs.median),
        ownCpuMs: rows.workflowStockPostgres.cpuMs.median - rows.barePostgres.cpuMs.median - rows.promiseAll.cpuMs.median,
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
    const critical = traces.get(branches)?.criticalCalls ?? (await traceWorkflow(branches)).criticalCalls;
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
    const threads = Math.max(...options.threads);
    const apiSchema = `${options.schema}_api`;
    const configurable = { review: "never", maxConcurrency: branches };
    const input = { taskQueue: benchTasks(branches) };
    for (const processes of options.serverProcesses) {
      // Each run holds a worker's session for its length: `threads` of them, over the processes.
      const workers = Math.ceil(threads / processes);
      log(`API server: ${processes} process(es) × ${workers} workers, ${threads} threads, L=${options.latencyMs} ms`);
      await db.pool.query(`DROP SCHEMA IF EXISTS "${apiSchema}" CASCADE`);
      const fleet = await startFleet({ processes, workers, databaseUrl, schema: apiSchema, latencyMs: options.latencyMs });
      try {
        const newApiThread = async (i: number) => (await fleet.clients[i % processes]!.threads.create()).thread_id;
        for (let i = 0; i < processes; i++) await apiRun(fleet.clients[i]!, await newApiThread(i), input, configurable);
        const rates: number[] = [];
        for (let r = 0; r < Math.max(1, Math.ceil(options.repeats / 2)); r++) {
          const threadIds = await Promise.all(Array.from({ length: threads }, (_, i) => newApiThread(i)));
          const { wallMs } = await timed(() => Promise.all(threadIds.map((id, i) => apiRun(fleet.clients[i % processes]!, id, input, configurable))));
          rates.push(threads / (wallMs / 1000));
        }
        const idealPerSecond = threads / ((critical * options.latencyMs) / 1000);
        const perSecond = spread(rates);
        server.push({ processes, workers, threads, branches, idealPerSecond, perSecond, ofIdeal: ratio(perSecond.median, idealPerSecond) });
        if (apiOverhead === undefined) {
          log(`API overhead: one run at a time, API against direct, ${options.repeats} repeats`);
          const runs = await interleaved(options.repeats, {
            api: async () => {
              const threadId = await newApiThread(0);
              return timed(() => apiRun(fleet.clients[0]!, threadId, input, configurable));
            },
            direct: () => timed(() => runWorkflow(workflow, branches)),
          });
          const apiMs = spread(runs.api.wall);
          const directMs = spread(runs.direct.wall);
          apiOverhead = { branches, apiMs, directMs, apiOverDirect: ratio(apiMs.median, directMs.median) };
        }
      } finally {
        await fleet.stop();
        await db.pool.query(`DROP SCHEMA IF EXISTS "${apiSchema}" CASCADE`).catch(() => {});
      }
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
        repeats: options.repeats,
        schema: options.schema,
      },
      durationSeconds: (performance.now() - began) / 1000,
      criticalPath,
      floor,
      concurrency,
      server,
      ...(apiOverhead ? { apiOverhead } : {}),
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
