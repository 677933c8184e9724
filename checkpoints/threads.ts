import type pg from "pg";
import { WORKFLOW_METADATA_KEY } from "./recorded_workflow.js";

/** A thread as the checkpoint table records it: its id and the times of its first and last checkpoints. */
export interface ThreadTimes {
  threadId: string;
  createdAt: string;
  updatedAt: string;
}

/** Every thread with a checkpoint in `schema`, the most recently updated first. */
export async function threadsNewestFirst(pool: pg.Pool, schema: string): Promise<ThreadTimes[]> {
  try {
    const { rows } = await pool.query<ThreadTimes>(
      `SELECT thread_id AS "threadId", min(checkpoint->>'ts') AS "createdAt", max(checkpoint->>'ts') AS "updatedAt"
         FROM "${schema}".checkpoints WHERE checkpoint_ns = ''
        GROUP BY thread_id ORDER BY "updatedAt" DESC, thread_id`,
    );
    return rows;
  } catch (error) {
    // A schema no checkpointer has set up yet holds no threads.
    if ((error as { code?: string }).code === UNDEFINED_TABLE) return [];
    throw error;
  }
}

const UNDEFINED_TABLE = "42P01";

/** What tells a thread's workflow: the one recorded in its head's metadata, else (a thread saved before it was) the nodes it reached. */
export interface ThreadMarks {
  /** The workflow the head checkpoint's metadata records (recorded_workflow.ts), if it does. */
  recorded: string | null;
  /** The nodes the thread reached: those whose trigger channel (`branch:to:NODE`) the head has a version of. */
  reached: string[];
}

/** A thread's head checkpoint as read straight from the tables, without LangGraph: what listing a thread needs. */
export interface ThreadHead extends ThreadMarks {
  threadId: string;
  /** The asked-for state channels that hold a JSON value, by name. */
  values: Record<string, unknown>;
  /** The values of the interrupts the head's tasks are waiting on. */
  interrupts: unknown[];
  /** Tasks remain: a node is triggered, a Send is queued, or the input is not yet taken. */
  pending: boolean;
}

const TRIGGER = "branch:to:";
/** The channels whose holding a value means a task runs next: LangGraph clears each once it is taken. */
const isTaskChannel = (channel: string) =>
  channel.startsWith(TRIGGER) || channel === "__pregel_tasks" || channel === "__start__";

/** What tells a thread's workflow, from its head checkpoint; undefined when there is no such thread. */
export async function threadMarks(
  pool: pg.Pool | pg.PoolClient,
  schema: string,
  threadId: string,
): Promise<ThreadMarks | undefined> {
  const { rows } = await pool.query<{ channels: Record<string, unknown> | null; recorded: string | null }>(
    `SELECT checkpoint->'channel_versions' AS channels, metadata->>'${WORKFLOW_METADATA_KEY}' AS recorded FROM "${schema}".checkpoints
      WHERE thread_id = $1 AND checkpoint_ns = '' ORDER BY checkpoint_id DESC LIMIT 1`,
    [threadId],
  );
  return rows[0] ? { recorded: rows[0].recorded, reached: nodesOf(Object.keys(rows[0].channels ?? {})) } : undefined;
}

/** The nodes whose trigger channels are among `channels`: those a checkpoint with these channel versions reached. */
export const nodesOf = (channels: readonly string[]) =>
  channels.flatMap((channel) => (channel.startsWith(TRIGGER) ? [channel.slice(TRIGGER.length)] : []));

/**
 * The head checkpoints of `threadIds`, in two queries: the channel blobs at the head's versions
 * (only the task channels and the `channels` asked for, so a thread's large values stay unread)
 * and the head's pending interrupt writes.
 */
export async function threadHeads(
  pool: pg.Pool,
  schema: string,
  threadIds: readonly string[],
  channels: readonly string[],
): Promise<ThreadHead[]> {
  if (!threadIds.length) return [];
  const { rows } = await pool.query<{
    thread_id: string;
    checkpoint_id: string;
    recorded: string | null;
    channel: string | null;
    type: string | null;
    blob: Buffer | null;
  }>(
    `WITH head AS (
       SELECT DISTINCT ON (thread_id) thread_id, checkpoint_id, checkpoint, metadata FROM "${schema}".checkpoints
        WHERE thread_id = ANY($1) AND checkpoint_ns = '' ORDER BY thread_id, checkpoint_id DESC
     )
     SELECT head.thread_id, head.checkpoint_id, head.metadata->>'${WORKFLOW_METADATA_KEY}' AS recorded, v.key AS channel, b.type, b.blob
       FROM head
       LEFT JOIN LATERAL jsonb_each_text(head.checkpoint->'channel_versions') v ON true
       LEFT JOIN "${schema}".checkpoint_blobs b
         ON b.thread_id = head.thread_id AND b.checkpoint_ns = '' AND b.channel = v.key AND b.version = v.value
              AND (v.key = ANY($2) OR v.key LIKE '${TRIGGER}%' OR v.key IN ('__pregel_tasks', '__start__'))`,
    [threadIds, channels],
  );
  const heads = new Map<string, ThreadHead & { checkpointId: string }>();
  for (const row of rows) {
    const head = heads.get(row.thread_id) ?? {
      threadId: row.thread_id,
      checkpointId: row.checkpoint_id,
      recorded: row.recorded,
      reached: [],
      values: {},
      interrupts: [],
      pending: false,
    };
    heads.set(row.thread_id, head);
    if (row.channel === null) continue;
    head.reached.push(...nodesOf([row.channel]));
    if (row.type !== "json" || !row.blob) continue;
    const value: unknown = JSON.parse(row.blob.toString("utf8"));
    if (isTaskChannel(row.channel)) head.pending ||= !(Array.isArray(value) && value.length === 0);
    else head.values[row.channel] = value;
  }
  const { rows: writes } = await pool.query<{ thread_id: string; checkpoint_id: string; type: string; blob: Buffer }>(
    `SELECT thread_id, checkpoint_id, type, blob FROM "${schema}".checkpoint_writes
      WHERE thread_id = ANY($1) AND checkpoint_ns = '' AND checkpoint_id = ANY($2) AND channel = '__interrupt__' ORDER BY task_id, idx`,
    [threadIds, [...heads.values()].map((h) => h.checkpointId)],
  );
  for (const write of writes) {
    const head = heads.get(write.thread_id);
    if (!head || head.checkpointId !== write.checkpoint_id || write.type !== "json") continue;
    const written: unknown = JSON.parse(write.blob.toString("utf8"));
    for (const interrupt of Array.isArray(written) ? written : [written]) {
      head.interrupts.push(
        interrupt !== null && typeof interrupt === "object" && "value" in interrupt ? interrupt.value : interrupt,
      );
    }
  }
  return threadIds.flatMap((id) => {
    const head = heads.get(id);
    if (!head) return [];
    const { checkpointId: _, ...rest } = head;
    return [rest];
  });
}
