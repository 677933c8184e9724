import { bulkhead, type BulkheadPolicy } from "cockatiel";

/**
 * maxConcurrentTasks as a bulkhead per run and template: a run's agents of one template wait
 * for a slot, in the order they asked, before they start. A run's fan-out executes in one
 * process, so the limit needs no coordination through the database. The bulkheads live only
 * while they have work: an idle run leaves nothing behind.
 */
const bulkheads = new Map<string, { policy: BulkheadPolicy; users: number }>();

/** The key agents share a limit under: one run (thread) and one template. */
export const concurrencyKey = (threadId: string, agentType: string) => `${threadId}\u0000${agentType}`;

export async function withinConcurrencyLimit<T>(
  key: string,
  limit: number,
  signal: AbortSignal | undefined,
  work: () => Promise<T>,
): Promise<T> {
  let entry = bulkheads.get(key);
  if (!entry) bulkheads.set(key, (entry = { policy: bulkhead(limit, Number.MAX_SAFE_INTEGER), users: 0 }));
  entry.users += 1;
  try {
    return await entry.policy.execute(() => work(), signal);
  } finally {
    entry.users -= 1;
    if (entry.users === 0) bulkheads.delete(key);
  }
}
