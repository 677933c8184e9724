import type { RunnableConfig } from "@langchain/core/runnables";

/** Rejects when the signal aborts, for models that ignore it. */
export function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      if (signal.aborted) reject(signal.reason);
      signal.addEventListener("abort", () => reject(signal.reason), { once: true });
    }),
  ]);
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
  const timeout = AbortSignal.timeout(ms);
  const signal = config.signal ? AbortSignal.any([config.signal, timeout]) : timeout;
  try {
    return await abortable(call({ ...config, signal }), signal);
  } catch (error) {
    if (timeout.aborted && !config.signal?.aborted) {
      throw new Error(`${node}: the model did not answer within ${ms} ms (branchTimeoutMs)`);
    }
    throw error;
  }
}
