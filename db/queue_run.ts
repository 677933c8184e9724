import type pg from "pg";

/**
 * `queue_run(...)`: queues a run of the API server in one statement, so creating a run is one
 * round trip. PL/pgSQL, because the multitask strategy must see the thread's active runs only once
 * it holds the thread's row lock, and each statement of a function takes a fresh snapshot where
 * the statements of one plain query all share the first. What it refuses it names in `refusal`,
 * having written nothing:
 * - `assistant_changed`: the assistant is not at the version the caller checked the request against;
 * - `thread_has_checkpoints`: a named thread with no row has checkpoints, whose graph the caller tells;
 * - `thread_not_found`: a named thread that does not exist, and `if_not_exists` is not `create`, or one
 *   whose metadata does not hold `p_visible` (the caller's auth filters: another user's thread is not found);
 * - `graph_mismatch`: the thread runs `thread_graph`;
 * - `busy`: under `reject`, the thread's run `busy_run` is `busy_status`.
 */
function queueRunFunction(schema: string): string {
  const t = (name: string) => `"${schema}".${name}`;
  return `CREATE OR REPLACE FUNCTION ${t("queue_run")}(
    p_thread_id text, p_named boolean, p_if_not_exists text, p_checkpoint_graph text, p_graph_id text,
    p_assistant_id uuid, p_assistant_version integer, p_assistant_updated timestamptz,
    p_run_id uuid, p_kwargs jsonb, p_metadata jsonb, p_strategy text, p_temporary boolean,
    p_thread_metadata jsonb, p_visible jsonb,
    OUT run ${t("runs")}, OUT cancelled uuid[], OUT refusal text, OUT busy_run uuid, OUT busy_status text, OUT thread_graph text)
  LANGUAGE plpgsql AS $fn$
  DECLARE
    thread ${t("threads")};
    other record;
  BEGIN
    cancelled := '{}';
    PERFORM 1 FROM ${t("assistants")} WHERE assistant_id = p_assistant_id AND version = p_assistant_version
      AND date_trunc('milliseconds', updated_at) = p_assistant_updated;
    IF NOT FOUND THEN refusal := 'assistant_changed'; RETURN; END IF;
    SELECT * INTO thread FROM ${t("threads")} WHERE thread_id = p_thread_id FOR UPDATE;
    IF NOT FOUND THEN
      IF p_named AND p_checkpoint_graph IS NULL
         AND EXISTS (SELECT 1 FROM ${t("checkpoints")} WHERE thread_id = p_thread_id AND checkpoint_ns = '') THEN
        refusal := 'thread_has_checkpoints'; RETURN;
      END IF;
      IF p_named AND p_checkpoint_graph IS NULL AND p_if_not_exists IS DISTINCT FROM 'create' THEN
        refusal := 'thread_not_found'; RETURN;
      END IF;
      INSERT INTO ${t("threads")} (thread_id, graph_id, metadata)
        VALUES (p_thread_id, coalesce(p_checkpoint_graph, p_graph_id), jsonb_build_object('graph_id', p_graph_id) || p_thread_metadata)
        ON CONFLICT DO NOTHING;
      SELECT * INTO thread FROM ${t("threads")} WHERE thread_id = p_thread_id FOR UPDATE;
    END IF;
    IF NOT (thread.metadata @> p_visible) THEN refusal := 'thread_not_found'; RETURN; END IF;
    IF thread.graph_id IS NOT NULL AND thread.graph_id <> p_graph_id THEN
      refusal := 'graph_mismatch'; thread_graph := thread.graph_id; RETURN;
    END IF;
    FOR other IN SELECT r.run_id, r.status FROM ${t("runs")} r WHERE r.thread_id = p_thread_id AND r.status IN ('pending', 'running') ORDER BY r.created_at LOOP
      IF p_strategy = 'reject' THEN
        refusal := 'busy'; busy_run := other.run_id; busy_status := other.status; RETURN;
      END IF;
      IF p_strategy IN ('interrupt', 'rollback') THEN
        -- A run no worker has started saved nothing: under rollback it goes, under interrupt it ends.
        IF p_strategy = 'rollback' THEN
          DELETE FROM ${t("runs")} WHERE run_id = other.run_id AND status = 'pending';
        ELSE
          UPDATE ${t("runs")} SET status = 'interrupted', cancel = 'interrupt', updated_at = clock_timestamp() WHERE run_id = other.run_id AND status = 'pending';
        END IF;
        IF NOT FOUND THEN
          UPDATE ${t("runs")} SET cancel = p_strategy, updated_at = clock_timestamp() WHERE run_id = other.run_id;
        END IF;
        cancelled := cancelled || other.run_id;
      END IF;
    END LOOP;
    UPDATE ${t("threads")} SET graph_id = coalesce(graph_id, p_graph_id),
      metadata = metadata || jsonb_build_object('graph_id', p_graph_id, 'assistant_id', p_assistant_id), updated_at = now()
      WHERE thread_id = p_thread_id;
    INSERT INTO ${t("runs")} (run_id, thread_id, assistant_id, graph_id, status, kwargs, metadata, multitask_strategy, temporary)
      VALUES (p_run_id, p_thread_id, p_assistant_id, p_graph_id, 'pending', p_kwargs, p_metadata, p_strategy, p_temporary)
      RETURNING * INTO run;
  END
  $fn$`;
}

/** Creates or replaces the server's functions; safe to repeat. */
export async function migrateServerFunctions(pool: pg.Pool | pg.PoolClient, schema: string): Promise<void> {
  await pool.query(queueRunFunction(schema));
}
