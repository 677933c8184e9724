import type pg from "pg";

/** A thread as the checkpoint table records it: its id and the times of its first and last checkpoints. */
export interface ThreadTimes {
  threadId: string;
  createdAt: string;
  updatedAt: string;
}

/** Every thread with a checkpoint in `schema`, the most recently updated first. */
export async function threadsNewestFirst(pool: pg.Pool, schema: string): Promise<ThreadTimes[]> {
  const { rows } = await pool.query<ThreadTimes>(
    `SELECT thread_id AS "threadId", min(checkpoint->>'ts') AS "createdAt", max(checkpoint->>'ts') AS "updatedAt"
       FROM "${schema}".checkpoints WHERE checkpoint_ns = ''
      GROUP BY thread_id ORDER BY "updatedAt" DESC, thread_id`,
  );
  return rows;
}
