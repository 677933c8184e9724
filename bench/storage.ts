import type pg from "pg";

/** What one thread keeps in the checkpointer's three tables, whatever its workflow. */
export interface StorageBytes {
  checkpoints: number;
  blobs: number;
  writes: number;
  total: number;
  checkpointRows: number;
}

export async function storageOf(pool: pg.Pool, schema: string, threadId: string): Promise<StorageBytes> {
  const bytes = async (table: string) => {
    const { rows } = await pool.query<{ bytes: string | null; rows: string }>(
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
