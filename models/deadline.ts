import type { RunnableConfig } from "@langchain/core/runnables";

/**
 * Rejects when the signal aborts, for models that ignore it. The listener goes when the call
 * settles: Node keeps a timeout or AbortSignal.any signal that has an abort listener alive until
 * it fires, and the listener's promise carries the run's context (its RunTree, config and
 * PregelLoop), so a listener left behind held every run for the whole branch timeout.
 */
export async function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  let onAbort = (): void => undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason);
    if (signal.aborted) onAbort();
    else signal.addEventListener("abort", onAbort, { once: true });
  });
  try {
    return await Promise.race([promise, aborted]);
  } finally {
    signal.removeEventListener("abort", onAbort);
  }
}

/**
 * A time limit for a call, joined with the run's own signal. Not AbortSignal.timeout: its timer
 * cannot be cleared, and Node keeps, on every timer, the async context it was created in (the
 * run's RunTree, config and PregelLoop), so each finished run stayed in memory until its timeout
 * fired. clear() once the call is over.
 */
export class Deadline {
  readonly signal: AbortSignal;
  private readonly timeout = new AbortController();
  private readonly timer: NodeJS.Timeout;

  constructor(ms: number, runSignal: AbortSignal | undefined) {
    this.timer = setTimeout(() => this.timeout.abort(new DOMException("The operation timed out.", "TimeoutError")), ms);
    this.signal = runSignal ? AbortSignal.any([runSignal, this.timeout.signal]) : this.timeout.signal;
  }

  /** Whether the time ran out (not the run's cancellation). */
  get expired(): boolean {
    return this.timeout.signal.aborted;
  }

  clear(): void {
    clearTimeout(this.timer);
  }
}

/**
 * A model call outside the branches, cut off after `ms`: a provider that never answers must fail
 * the run, which a resume can finish, rather than hold the thread forever. The run's own
 * cancellation still comes through as it is.
 */
export async function callWithDeadline<T>(
  node: string,
  ms: number,
  config: RunnableConfig,
  call: (config: RunnableConfig) => Promise<T>,
): Promise<T> {
  const deadline = new Deadline(ms, config.signal);
  try {
    return await abortable(call({ ...config, signal: deadline.signal }), deadline.signal);
  } catch (error) {
    if (deadline.expired && !config.signal?.aborted) {
      throw new Error(`${node}: the model did not answer within ${ms} ms (branchTimeoutMs)`);
    }
    throw error;
  } finally {
    deadline.clear();
  }
}
