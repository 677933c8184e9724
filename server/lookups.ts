import type { RunnableConfig } from "@langchain/core/runnables";
import type { StateSnapshot } from "@langchain/langgraph";
import type pg from "pg";
import { workflowOfThread } from "../graphs/registry.js";
import { threadMarks } from "../checkpoints/threads.js";
import type { ApiContext, Repositories, ServedEntry } from "./context.js";
import { HttpError } from "./http.js";
import type { RunRow, RunStatus } from "./queue/runs.js";
import { type AssistantRow, graphAssistantId } from "./storage/assistants.js";
import type { ThreadRow } from "./storage/threads.js";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const isUuid = (id: string) => UUID.test(id);

/** What a fresh thread's state reads as: LangGraph's snapshot of a thread with no checkpoint. */
const NO_CHECKPOINT: Pick<StateSnapshot, "values" | "next" | "tasks"> = { values: {}, next: [], tasks: [] };

/** A thread's status as the API reports it: from its last run, and its state's pending tasks. */
export function threadStatus(
  lastRun: RunStatus | undefined,
  state: Pick<StateSnapshot, "next" | "tasks"> | undefined,
): string {
  if (lastRun === "pending" || lastRun === "running") return "busy";
  if (state && (state.next.length > 0 || state.tasks.some((task) => task.interrupts.length > 0))) return "interrupted";
  if (lastRun === "error") return "error";
  return "idle";
}

/** A thread in the API's Thread form. */
export function threadView(
  row: ThreadRow,
  state: Pick<StateSnapshot, "values" | "next" | "tasks"> | undefined,
  lastRun: RunStatus | undefined,
) {
  return {
    thread_id: row.thread_id,
    created_at: row.created_at,
    updated_at: row.updated_at,
    metadata: row.metadata,
    status: threadStatus(lastRun, state),
    values: state?.values ?? null,
    interrupts: Object.fromEntries(
      (state?.tasks ?? []).filter((t) => t.interrupts.length).map((t) => [t.id, t.interrupts]),
    ),
  };
}

/** The lookups every resource makes: each answers 404, naming what to use instead, when nothing is found. */
export function lookups(ctx: ApiContext, storage: Repositories) {
  function served(graphId: string): ServedEntry {
    const entry = ctx.graphs.get(graphId);
    if (!entry)
      throw new HttpError(
        404,
        `graph ${JSON.stringify(graphId)} not found; served graphs: ${[...ctx.graphs.keys()].join(", ")}`,
      );
    return entry;
  }

  const notFound = (idOrGraph: string) =>
    new HttpError(
      404,
      `assistant ${JSON.stringify(idOrGraph)} not found; use a graph id (${[...ctx.graphs.keys()].join(", ")}) or an assistant id`,
    );
  const assistantId = (idOrGraph: string) => (ctx.graphs.has(idOrGraph) ? graphAssistantId(idOrGraph) : idOrGraph);

  async function assistant(idOrGraph: string): Promise<AssistantRow> {
    const id = assistantId(idOrGraph);
    const row = UUID.test(id) ? await storage.assistants.get(id) : undefined;
    if (!row) throw notFound(idOrGraph);
    return row;
  }

  /** As `assistant`, but as this process last read it: queueing a run checks it is still that version. */
  async function recentAssistant(idOrGraph: string): Promise<AssistantRow> {
    const id = assistantId(idOrGraph);
    const row = UUID.test(id) ? await storage.assistants.recentOrGet(id) : undefined;
    if (!row) throw notFound(idOrGraph);
    return row;
  }

  /**
   * The served graph a CLI thread ran, as its head checkpoint tells (workflowOfThread); undefined
   * without one. In a transaction, on its connection: one more from the capped pool, while holding
   * that one, could wait forever.
   */
  async function graphOfCheckpoints(
    threadId: string,
    client: pg.Pool | pg.PoolClient = ctx.pool,
  ): Promise<string | undefined> {
    const marks = await threadMarks(client, ctx.schema, threadId);
    if (marks === undefined) return undefined;
    const graphId = workflowOfThread(marks);
    return ctx.graphs.has(graphId) ? graphId : [...ctx.graphs.keys()][0];
  }

  /** The thread's row; a thread the CLI started has checkpoints but no row yet, and gets one here. */
  async function thread(threadId: string): Promise<ThreadRow> {
    const row = await storage.threads.get(threadId);
    if (row) return row;
    const graphId = await graphOfCheckpoints(threadId);
    if (graphId === undefined) throw new HttpError(404, `thread ${threadId} not found`);
    return storage.threads.adopt(threadId, graphId);
  }

  async function run(threadId: string, runId: string): Promise<RunRow> {
    const row = await storage.runs.get(threadId, runId);
    if (!row) throw new HttpError(404, `run ${runId} not found on thread ${threadId}`);
    return row;
  }

  async function stateOf(
    row: ThreadRow,
    config: RunnableConfig = {},
    subgraphs = false,
  ): Promise<StateSnapshot | undefined> {
    if (!row.graph_id || !ctx.graphs.has(row.graph_id)) return undefined;
    return served(row.graph_id).graph.getState(
      { configurable: { ...config.configurable, thread_id: row.thread_id } },
      { subgraphs },
    );
  }

  /** The thread as the API shows it, its state read from its checkpoints. */
  async function viewOf(row: ThreadRow) {
    const state = await stateOf(row);
    return threadView(row, state, await storage.threads.lastRunStatus(row.thread_id));
  }

  /** A thread's view when it has no checkpoint, so its state is known without reading it. */
  const viewWithoutCheckpoints = (row: ThreadRow, lastRun: RunStatus | undefined) =>
    threadView(row, row.graph_id && ctx.graphs.has(row.graph_id) ? NO_CHECKPOINT : undefined, lastRun);

  return {
    served,
    assistant,
    recentAssistant,
    graphOfCheckpoints,
    thread,
    run,
    stateOf,
    viewOf,
    viewWithoutCheckpoints,
  };
}

export type Lookups = ReturnType<typeof lookups>;
