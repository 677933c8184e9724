import { randomUUID } from "node:crypto";
import type pg from "pg";
import type { ApiContext, PreparedRun, QueuedRun, Repositories, RunQueueing } from "./context.js";
import { filtersAsContainment } from "./auth/authorize.js";
import { runThreadAccess, withCallerConfigurable } from "./auth/middleware.js";
import { HttpError } from "./http.js";
import type { Lookups } from "./lookups.js";
import type { RunKwargs } from "./queue/runs.js";
import type * as schemas from "./schemas.js";
import type { QueueOutcome } from "./storage/runs.js";

/** Times a run is checked again against an assistant that another request changed meanwhile. */
const ASSISTANT_RETRIES = 3;

/** The run's arguments as the worker reads them: the assistant's configuration under the request's. */
function runKwargs(
  payload: schemas.RunCreate,
  input: unknown,
  configurable: Record<string, unknown>,
  context: Record<string, unknown>,
): RunKwargs {
  const checkpointId = payload.checkpoint_id ?? payload.checkpoint?.checkpoint_id;
  return {
    input,
    ...(payload.command ? { command: payload.command } : {}),
    config: { ...payload.config, configurable },
    ...(Object.keys(context).length ? { context } : {}),
    stream_mode: payload.stream_mode === undefined ? ["values"] : [payload.stream_mode].flat(),
    ...(payload.interrupt_before ? { interrupt_before: payload.interrupt_before } : {}),
    ...(payload.interrupt_after ? { interrupt_after: payload.interrupt_after } : {}),
    ...(checkpointId ? { checkpoint_id: checkpointId } : {}),
    subgraphs: payload.stream_subgraphs ?? false,
    ...(payload.webhook ? { webhook: payload.webhook } : {}),
  };
}

/** Runs checked against their assistant and graph, then queued in one statement (RunsRepo.queue). */
export function runQueueing(ctx: ApiContext, storage: Repositories, lookups: Lookups): RunQueueing {
  async function prepare(
    threadId: string | undefined,
    payload: schemas.RunCreate,
    fresh = false,
  ): Promise<PreparedRun> {
    if (!ctx.accepting())
      throw new HttpError(409, "this server is shutting down and takes no new runs; send the run to another instance");
    const chosen = fresh
      ? await lookups.assistant(payload.assistant_id)
      : await lookups.recentAssistant(payload.assistant_id);
    const { served } = lookups.served(chosen.graph_id);
    const configurable = withCallerConfigurable({
      ...(chosen.config.configurable as Record<string, unknown> | undefined),
      ...payload.config?.configurable,
    });
    const context = { ...chosen.context, ...payload.context };
    // The workflow's input mapping (a bare list of tasks is a task queue), as the CLI applies it.
    const input = payload.input === undefined || payload.input === null ? null : served.mapInput(payload.input);
    served.checkRequest(payload.command ? null : input, { configurable, context });
    return {
      threadId,
      access: await runThreadAccess(threadId, chosen.assistant_id, payload.metadata ?? {}),
      request: payload,
      assistant: chosen,
      graphId: chosen.graph_id,
      kwargs: runKwargs(payload, input, configurable, context),
      metadata: payload.metadata ?? {},
      strategy: payload.multitask_strategy ?? "reject",
      ifNotExists: payload.if_not_exists,
      // A stateless run's thread goes with it, unless the caller keeps it.
      temporary: threadId === undefined && payload.on_completion !== "keep",
    };
  }

  async function queue(
    prepared: PreparedRun,
    client?: pg.PoolClient,
    checkpointGraph?: string,
  ): Promise<QueuedRun | "assistant_changed"> {
    const id = prepared.threadId ?? randomUUID();
    const outcome: QueueOutcome = await storage.runs.queue(
      {
        runId: randomUUID(),
        threadId: id,
        named: prepared.threadId !== undefined,
        ifNotExists: prepared.ifNotExists,
        checkpointGraph,
        graphId: prepared.graphId,
        assistant: prepared.assistant,
        kwargs: prepared.kwargs,
        metadata: prepared.metadata,
        strategy: prepared.strategy,
        temporary: prepared.temporary,
        threadMetadata: prepared.access?.threadMetadata ?? {},
        visible: filtersAsContainment(prepared.access?.filters),
      },
      client,
    );
    if ("run" in outcome) return outcome;
    switch (outcome.refusal) {
      case "assistant_changed":
        return outcome.refusal;
      case "thread_has_checkpoints":
        return queue(prepared, client, await lookups.graphOfCheckpoints(id, client));
      case "thread_not_found":
        throw new HttpError(404, `thread ${id} not found; create it first, or send if_not_exists "create"`);
      case "graph_mismatch":
        throw new HttpError(
          422,
          `thread ${id} runs graph ${outcome.threadGraph}, not ${prepared.graphId}; use an assistant of ${outcome.threadGraph} or a new thread`,
        );
      case "busy":
        throw new HttpError(
          409,
          `thread ${id} is busy: run ${outcome.busyRun} is ${outcome.busyStatus}; wait for it, or send multitask_strategy enqueue, interrupt or rollback`,
        );
    }
  }

  return {
    prepare: (threadId, payload) => prepare(threadId, payload),
    async queue(prepared, client) {
      let current = prepared;
      for (let attempt = 1; ; attempt++) {
        const queued = await queue(current, client);
        if (queued !== "assistant_changed") return queued;
        if (attempt === ASSISTANT_RETRIES)
          throw new HttpError(
            409,
            `assistant ${prepared.assistant.assistant_id} changed while the run was queued; send the run again`,
          );
        // Changed since this process read it: the request is checked again against what it is now.
        current = await prepare(prepared.threadId, prepared.request, true);
      }
    },
  };
}
