import { appendFileSync } from "node:fs";
import { z } from "zod";
import { InputError } from "../../state/shared/errors.js";

/**
 * The offline model's test knobs, all read from the environment at call time so a
 * test or a child process can set them without reaching into the model.
 */
export const LATENCY_ENV = "ORCHESTRA_OFFLINE_LATENCY_MS";
export const FAULTS_ENV = "ORCHESTRA_OFFLINE_FAULTS";
export const CALL_LOG_ENV = "ORCHESTRA_OFFLINE_CALL_LOG";

/** The node name recorded for calls made outside a LangGraph node. */
export const NO_NODE = "(none)";

const FaultPlanSchema = z.record(
  z.string().min(1),
  z.union([
    z.object({ fail: z.number().int().min(0) }).strict(),
    z.object({ hang: z.literal(true) }).strict(),
    // The node's first N answers, or all of them, are shallow and off-topic: the quality gate's drill.
    z.object({ weak: z.union([z.number().int().min(0), z.literal(true)]) }).strict(),
    // The node's first N answers, or all of them, misquote what they cite: the grounding check's drill.
    z.object({ misquote: z.union([z.number().int().min(0), z.literal(true)]) }).strict(),
  ]),
);
export type FaultPlan = z.infer<typeof FaultPlanSchema>;

/** One line of the call log. */
export interface CallLogEntry {
  node: string;
  /**
   * The LangGraph task the call belongs to, null outside a graph. Task ids are the same in every
   * process that runs a thread's step, so a crash test can tell a saved task run again from an
   * interrupted one.
   */
  task: string | null;
  pid: number;
  at: string;
  tool: string | null;
}

export function readLatency(env: NodeJS.ProcessEnv): number {
  const raw = env[LATENCY_ENV]?.trim();
  if (!raw) return 0;
  const ms = Number(raw);
  if (!Number.isFinite(ms) || ms < 0) {
    throw new InputError(`invalid ${LATENCY_ENV} '${clipValue(raw)}': expected milliseconds, a number ≥ 0`);
  }
  return ms;
}

let parsedPlan: { raw: string; plan: FaultPlan } | undefined;

export function readFaultPlan(env: NodeJS.ProcessEnv): FaultPlan {
  const raw = env[FAULTS_ENV]?.trim();
  if (!raw) return {};
  if (parsedPlan?.raw === raw) return parsedPlan.plan;
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    throw new InputError(`invalid ${FAULTS_ENV}: not JSON; expected e.g. {"research_branch_alpha": {"fail": 1}}`);
  }
  const parsed = FaultPlanSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const where = issue.path.length ? `${issue.path.join(".")}: ` : "";
    throw new InputError(
      `invalid ${FAULTS_ENV}: ${where}${issue.message}; expected {"<node>": {"fail": N}}, {"<node>": {"hang": true}}, {"<node>": {"weak": N | true}} or {"<node>": {"misquote": N | true}}`,
    );
  }
  parsedPlan = { raw, plan: parsed.data };
  return parsed.data;
}

const clipValue = (raw: string) => (raw.length > 40 ? `${raw.slice(0, 40)}…` : raw);

/** Calls per node in this process: fault plans count against it, tests read it. */
const calls = new Map<string, number>();

export function offlineCallCounts(): Record<string, number> {
  return Object.fromEntries(calls);
}

export function resetOfflineCallCounts(): void {
  calls.clear();
}

/**
 * Counts the call and appends it to the call log. The write is synchronous and comes
 * before any answer, so a process killed mid-call has still logged it.
 */
export function recordCall(node: string, task: string | null, tool: string | null, env: NodeJS.ProcessEnv): number {
  const call = (calls.get(node) ?? 0) + 1;
  calls.set(node, call);
  const log = env[CALL_LOG_ENV];
  if (log) {
    const entry: CallLogEntry = { node, task, pid: process.pid, at: new Date().toISOString(), tool };
    appendFileSync(log, `${JSON.stringify(entry)}\n`);
  }
  return call;
}

/**
 * Resolves after `ms`; with no `ms` it never does, and holds the event loop open the
 * way a stalled socket would. Rejects as soon as the signal aborts.
 */
function wait(ms: number | undefined, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const abortError = () => signal?.reason ?? new DOMException("The operation was aborted", "AbortError");
    if (signal?.aborted) return reject(abortError());
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortError());
    };
    const timer =
      ms === undefined
        ? setInterval(() => {}, 2 ** 30)
        : setTimeout(() => {
            signal?.removeEventListener("abort", onAbort);
            resolve();
          }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** Whether the fault plan makes this call's answer weak: shallow and off-topic. */
export function answersWeakly(node: string, call: number, env: NodeJS.ProcessEnv): boolean {
  const fault = readFaultPlan(env)[node];
  return fault !== undefined && "weak" in fault && (fault.weak === true || call <= fault.weak);
}

/** Whether the fault plan makes this call's answer misquote the sources it cites. */
export function answersWithMisquotes(node: string, call: number, env: NodeJS.ProcessEnv): boolean {
  const fault = readFaultPlan(env)[node];
  return fault !== undefined && "misquote" in fault && (fault.misquote === true || call <= fault.misquote);
}

/** The configured latency, then the node's planned fault for this call, if any. */
export async function simulateCall(
  node: string,
  call: number,
  signal: AbortSignal | undefined,
  env: NodeJS.ProcessEnv,
): Promise<void> {
  const fault = readFaultPlan(env)[node];
  if (fault && "hang" in fault) return wait(undefined, signal);
  const latency = readLatency(env);
  if (latency > 0 || signal?.aborted) await wait(latency, signal);
  if (fault && "fail" in fault && call <= fault.fail) {
    throw new Error(`offline fault: ${node} call ${call} of ${fault.fail} planned failures`);
  }
}
