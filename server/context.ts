import type pg from "pg";
import type { ServedGraph } from "../graphs/registry.js";
import type { ServableGraph } from "../state/shared/workflow_definition.js";
import type { RunBus } from "./queue/bus.js";
import type { EventLog } from "./events.js";
import type { MultitaskStrategy, RunKwargs, RunRow } from "./queue/runs.js";
import type * as schemas from "./schemas.js";

/** What the routes share; its own module so route files and app.ts need not import each other. */
export interface ApiContext {
  pool: pg.Pool;
  schema: string;
  graphs: ReadonlyMap<string, { served: ServedGraph; graph: ServableGraph }>;
  bus: RunBus;
  events: EventLog;
  apiKey?: string;
  corsOrigins: string[];
  /** False once the server is shutting down: new runs are refused with 503 so a balancer retries elsewhere. */
  accepting(): boolean;
}

export interface PreparedRun {
  /** Undefined for a stateless run: it gets a thread of its own. */
  threadId: string | undefined;
  assistantId: string;
  graphId: string;
  kwargs: RunKwargs;
  metadata: Record<string, unknown>;
  strategy: MultitaskStrategy;
  ifNotExists: "create" | "reject" | undefined;
  temporary: boolean;
}

export interface QueuedRun {
  run: RunRow;
  /** Active runs of the thread that the multitask strategy cancelled. */
  cancelled: string[];
}

/** How runs are queued, for callers other than the routes (the cron scheduler). */
export interface RunQueueing {
  prepare(threadId: string | undefined, payload: schemas.RunCreate): Promise<PreparedRun>;
  insert(client: pg.PoolClient, prepared: PreparedRun): Promise<QueuedRun>;
  announce(queued: QueuedRun): Promise<void>;
}
