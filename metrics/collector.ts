import type { BaseCheckpointSaver } from "@langchain/langgraph-checkpoint";
import type pg from "pg";
import { WORKFLOW_METADATA_KEY } from "../checkpoints/recorded_workflow.js";
import { nodesOf, type ThreadMarks } from "../checkpoints/threads.js";
import { standardDeviation, type RunObservation, type StepFigures } from "./optimizer_analysis.js";

/**
 * Metrics read from what the product already keeps: the checkpoints (their timestamps, and which
 * nodes each one saved, told by the change in `versions_seen`), what a workflow's runs record in
 * their saved state (the engine's step records, read by its `variants` hook), and the server's
 * runs table. Nothing is recorded for metrics alone, so there is no second bookkeeping to drift
 * from the first.
 */

/** The database the metrics, the optimizer and the definitions' versions are read from. */
export interface MetricsDatabase {
  pool: pg.Pool;
  schema: string;
  checkpointer: BaseCheckpointSaver;
}

export interface DurationStats {
  count: number;
  meanMs: number;
  p50Ms: number;
  p95Ms: number;
  /** Variance in ms²; σ is its square root. */
  varianceMs2: number;
  stdDevMs: number;
}

export interface StepMetrics extends DurationStats {
  stepId: string;
  /** Runs the step settled in, successfully or not. */
  runs: number;
  successRate: number;
  errorRate: number;
  /** Attempts beyond the first. */
  retries: number;
  timeouts: number;
  /** Calls of the model, where the step's action calls one. */
  modelCalls: number;
  /** Tokens, where the model reported its usage in the saved state; null when nothing reported any. */
  tokens: number | null;
  /** Times the step waited for a person (a review or approval): its duration then is not the step's own. */
  reviewWaits: number;
}

export interface ServerRunMetrics {
  total: number;
  byStatus: Record<string, number>;
  /** Runs claimed again after the instance running them went away. */
  reclaimed: number;
  duration: DurationStats;
}

export interface WorkflowMetrics {
  workflow: string;
  /** The graph that ran it: an engine definition's name is the workflow, enterprise_workflow the graph. */
  graphId: string;
  threads: number;
  completed: number;
  failed: number;
  successRate: number;
  errorRate: number;
  /** Wall time of finished threads, waits for people left out. */
  duration: DurationStats;
  steps: StepMetrics[];
  resources: { checkpoints: number; storedBytes: number; peakParallelSteps: number };
  /** The server's runs of this graph (runs started by the CLI are not in the table). */
  serverRuns?: ServerRunMetrics;
  /** Per finished thread: when each step ran, for the optimizer. */
  observations: RunObservation[];
}

export interface CollectOptions extends MetricsDatabase {
  /** A thread's graph, as its head checkpoint tells: the registry's workflowOfThread. */
  workflowOf(marks: ThreadMarks): string;
  /** graphId → how its threads that ran a named variant are read from their saved values. */
  variantSamplers?: Record<string, (values: Record<string, unknown>) => RunSample | undefined>;
  /** Only this workflow (a graph id or an engine definition's name). */
  workflow?: string;
  /** Only threads active since this time (ms since the epoch). */
  since?: number;
}

export function durationStats(values: readonly number[]): DurationStats {
  if (!values.length) return { count: 0, meanMs: 0, p50Ms: 0, p95Ms: 0, varianceMs2: 0, stdDevMs: 0 };
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
  const stdDevMs = standardDeviation(sorted);
  return {
    count: sorted.length,
    meanMs: sorted.reduce((a, b) => a + b, 0) / sorted.length,
    p50Ms: at(0.5),
    p95Ms: at(0.95),
    varianceMs2: stdDevMs ** 2,
    stdDevMs,
  };
}

/** The optimizer's figures for a workflow's steps. */
export const stepFigures = (metrics: WorkflowMetrics): StepFigures[] =>
  metrics.steps.map((step) => ({
    stepId: step.stepId,
    count: step.count,
    meanMs: step.meanMs,
    p95Ms: step.p95Ms,
    stdDevMs: step.stdDevMs,
    timeouts: step.timeouts,
  }));

interface CheckpointRow {
  checkpoint_id: string;
  parent_checkpoint_id: string | null;
  ts: string;
  seen: Record<string, Record<string, unknown>> | null;
  channels: Record<string, unknown> | null;
  source: string | null;
  recorded: string | null;
  bytes: number;
}

/** One run of a step, as a thread's checkpoints or its own records tell it. */
export interface StepSample {
  durationMs?: number;
  ok?: boolean;
  retries: number;
  timedOut: boolean;
  modelCalls: number;
  tokens?: number;
  reviewWait: boolean;
}

/** What a thread's run did: the workflow (or variant) it ran, its outcome and its steps. */
export interface RunSample {
  workflow: string;
  finished: boolean;
  failed: boolean;
  wallMs?: number;
  steps: Map<string, StepSample[]>;
  observation?: RunObservation;
}

interface ThreadSample extends RunSample {
  graphId: string;
  checkpoints: number;
  storedBytes: number;
  peakParallel: number;
}

export const push = <K, V>(map: Map<K, V[]>, key: K, value: V) => map.set(key, [...(map.get(key) ?? []), value]);

export async function collectMetrics(options: CollectOptions): Promise<WorkflowMetrics[]> {
  const { pool, schema } = options;
  const table = (name: string) => `"${schema}".${name}`;
  const { rows: threads } = await pool.query<{ thread_id: string }>(
    `SELECT thread_id FROM ${table("checkpoints")} WHERE checkpoint_ns = ''
     GROUP BY thread_id HAVING max(checkpoint->>'ts') >= $1 ORDER BY max(checkpoint->>'ts')`,
    [new Date(options.since ?? 0).toISOString()],
  );
  const samples: ThreadSample[] = [];
  for (const { thread_id } of threads) {
    const sample = await sampleThread(options, thread_id);
    if (
      sample &&
      (options.workflow === undefined || options.workflow === sample.workflow || options.workflow === sample.graphId)
    )
      samples.push(sample);
  }
  const serverRuns = await serverRunMetrics(pool, schema, options.since);
  const byWorkflow = new Map<string, ThreadSample[]>();
  for (const sample of samples) push(byWorkflow, sample.workflow, sample);
  return [...byWorkflow]
    .map(([workflow, group]) => summarise(workflow, group, serverRuns.get(group[0]!.graphId)))
    .sort((a, b) => a.workflow.localeCompare(b.workflow));
}

async function sampleThread(options: CollectOptions, threadId: string): Promise<ThreadSample | undefined> {
  const table = (name: string) => `"${options.schema}".${name}`;
  const { rows } = await options.pool.query<CheckpointRow>(
    `SELECT checkpoint_id, parent_checkpoint_id, checkpoint->>'ts' AS ts, checkpoint->'versions_seen' AS seen,
            checkpoint->'channel_versions' AS channels, metadata->>'source' AS source,
            metadata->>'${WORKFLOW_METADATA_KEY}' AS recorded,
            pg_column_size(checkpoint) + pg_column_size(metadata) AS bytes
     FROM ${table("checkpoints")} WHERE thread_id = $1 AND checkpoint_ns = '' ORDER BY checkpoint_id`,
    [threadId],
  );
  const { rows: interrupted } = await options.pool.query<{ checkpoint_id: string }>(
    `SELECT DISTINCT checkpoint_id FROM ${table("checkpoint_writes")} WHERE thread_id = $1 AND checkpoint_ns = '' AND channel = '__interrupt__'`,
    [threadId],
  );
  const { rows: blobs } = await options.pool.query<{ bytes: string | null }>(
    `SELECT sum(pg_column_size(blob)) AS bytes FROM ${table("checkpoint_blobs")} WHERE thread_id = $1`,
    [threadId],
  );
  const head = rows[rows.length - 1];
  if (!head) return undefined;
  const reached = nodesOf(Object.keys(head.channels ?? {}));
  // A thread that ran no step has nothing to measure.
  if (head.recorded === null && !reached.length) return undefined;
  const graphId = options.workflowOf({ recorded: head.recorded, reached });

  const byId = new Map(rows.map((row) => [row.checkpoint_id, row]));
  const paused = new Set(interrupted.map((row) => row.checkpoint_id));
  const nodeSamples = new Map<string, StepSample[]>();
  const observation: RunObservation = { wallMs: 0, steps: {} };
  let peakParallel = 0;
  let reviewMs = 0;
  for (const row of rows) {
    const parent = row.parent_checkpoint_id ? byId.get(row.parent_checkpoint_id) : undefined;
    if (row.source !== "loop" || !parent) continue;
    const ran = Object.keys(row.seen ?? {}).filter(
      (node) => !node.startsWith("__") && JSON.stringify(row.seen?.[node]) !== JSON.stringify(parent.seen?.[node]),
    );
    const elapsed = Date.parse(row.ts) - Date.parse(parent.ts);
    // A step resumed after a review started when the person answered, which no checkpoint records.
    const waited = paused.has(parent.checkpoint_id);
    if (waited) reviewMs += elapsed;
    peakParallel = Math.max(peakParallel, ran.length);
    for (const node of ran) {
      push(nodeSamples, node, {
        ...(waited ? {} : { durationMs: elapsed }),
        retries: 0,
        timedOut: false,
        modelCalls: 0,
        reviewWait: waited,
      });
      if (!waited) observation.steps[node] = { startedAt: Date.parse(parent.ts), finishedAt: Date.parse(row.ts) };
    }
  }
  const storedBytes = rows.reduce((sum, row) => sum + Number(row.bytes), 0) + Number(blobs[0]?.bytes ?? 0);
  const base = { graphId, checkpoints: rows.length, storedBytes, peakParallel };

  const tuple = await options.checkpointer.getTuple({ configurable: { thread_id: threadId, checkpoint_ns: "" } });
  const values = (tuple?.checkpoint.channel_values ?? {}) as Record<string, unknown>;
  const variant = options.variantSamplers?.[graphId]?.(values);
  if (variant) return { ...base, ...variant };

  const status = typeof values.status === "string" ? values.status : "";
  // A graph thread is over when its head is not paused at a review and its state says it stopped.
  const finished = !paused.has(head.checkpoint_id) && status !== "" && status !== "running";
  observation.wallMs = Date.parse(head.ts) - Date.parse(rows[0]!.ts) - reviewMs;
  return {
    ...base,
    workflow: graphId,
    finished,
    failed: finished && status !== "completed",
    wallMs: observation.wallMs,
    steps: nodeSamples,
    observation,
  };
}

function summarise(workflow: string, group: ThreadSample[], serverRuns: ServerRunMetrics | undefined): WorkflowMetrics {
  const finished = group.filter((sample) => sample.finished);
  const completed = finished.filter((sample) => !sample.failed).length;
  const stepIds = [...new Set(group.flatMap((sample) => [...sample.steps.keys()]))];
  const steps = stepIds.map((stepId): StepMetrics => {
    const all = group.flatMap((sample) => sample.steps.get(stepId) ?? []);
    const durations = all.flatMap((s) => (s.durationMs === undefined ? [] : [s.durationMs]));
    const judged = all.filter((s) => s.ok !== undefined);
    const ok = judged.filter((s) => s.ok).length;
    const tokenCounts = all.flatMap((s) => (s.tokens === undefined ? [] : [s.tokens]));
    return {
      stepId,
      ...durationStats(durations),
      runs: all.length,
      successRate: judged.length ? ok / judged.length : 1,
      errorRate: judged.length ? (judged.length - ok) / judged.length : 0,
      retries: all.reduce((sum, s) => sum + s.retries, 0),
      timeouts: all.filter((s) => s.timedOut).length,
      modelCalls: all.reduce((sum, s) => sum + s.modelCalls, 0),
      tokens: tokenCounts.length ? tokenCounts.reduce((a, b) => a + b, 0) : null,
      reviewWaits: all.filter((s) => s.reviewWait).length,
    };
  });
  return {
    workflow,
    graphId: group[0]!.graphId,
    threads: group.length,
    completed,
    failed: finished.length - completed,
    successRate: finished.length ? completed / finished.length : 0,
    errorRate: finished.length ? (finished.length - completed) / finished.length : 0,
    duration: durationStats(finished.flatMap((sample) => (sample.wallMs === undefined ? [] : [sample.wallMs]))),
    steps,
    resources: {
      checkpoints: group.reduce((sum, s) => sum + s.checkpoints, 0),
      storedBytes: group.reduce((sum, s) => sum + s.storedBytes, 0),
      peakParallelSteps: Math.max(0, ...group.map((s) => s.peakParallel)),
    },
    ...(serverRuns ? { serverRuns } : {}),
    observations: finished.flatMap((sample) =>
      sample.observation && Object.keys(sample.observation.steps).length ? [sample.observation] : [],
    ),
  };
}

async function serverRunMetrics(pool: pg.Pool, schema: string, since = 0): Promise<Map<string, ServerRunMetrics>> {
  const { rows: exists } = await pool.query<{ found: string | null }>(`SELECT to_regclass($1) AS found`, [
    `"${schema}".runs`,
  ]);
  if (!exists[0]?.found) return new Map();
  const { rows } = await pool.query<{ graph_id: string; status: string; attempt: number; ms: number }>(
    `SELECT graph_id, status, attempt, EXTRACT(EPOCH FROM (updated_at - created_at)) * 1000 AS ms
     FROM "${schema}".runs WHERE created_at >= $1`,
    [new Date(since).toISOString()],
  );
  const out = new Map<string, ServerRunMetrics>();
  const grouped = new Map<string, typeof rows>();
  for (const row of rows) push(grouped, row.graph_id, row);
  for (const [graphId, runs] of grouped) {
    const byStatus: Record<string, number> = {};
    for (const run of runs) byStatus[run.status] = (byStatus[run.status] ?? 0) + 1;
    const ended = runs.filter((run) => !["pending", "running"].includes(run.status));
    out.set(graphId, {
      total: runs.length,
      byStatus,
      reclaimed: runs.filter((run) => run.attempt > 1).length,
      duration: durationStats(ended.map((run) => Number(run.ms))),
    });
  }
  return out;
}
