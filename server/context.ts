import type { MiddlewareHandler } from "hono";
import type pg from "pg";
import type { ServedGraph } from "../graphs/registry.js";
import type { ServableGraph } from "../state/shared/workflow_definition.js";
import type { WorkflowTrigger } from "../state/shared/triggers.js";
import type { RunBus } from "./queue/bus.js";
import type { EventLog } from "./events.js";
import type { MultitaskStrategy, RunKwargs, RunRow } from "./queue/runs.js";
import type * as schemas from "./schemas.js";
import type { RunThreadAccess } from "./auth/middleware.js";
import type { AssistantRow } from "./storage/assistants.js";
import type { Repositories } from "./storage/repositories.js";

export type { Repositories };

export interface ServedEntry {
  served: ServedGraph;
  graph: ServableGraph;
}

/** What the server gives its routes; its own module so route files and app.ts need not import each other. */
export interface ApiContext {
  pool: pg.Pool;
  schema: string;
  graphs: ReadonlyMap<string, ServedEntry>;
  bus: RunBus;
  events: EventLog;
  /** Tells who calls (API key, token or the langgraph.json Auth module) before every route: server/auth/middleware.ts. */
  authenticate: MiddlewareHandler;
  corsOrigins: string[];
  /** The events that start or signal workflows (graphs/triggers.ts): POST /triggers/{name} and the NATS consumers. */
  triggers?: readonly WorkflowTrigger[];
  /** False once the server is shutting down: new runs are refused with 503 so a balancer retries elsewhere. */
  accepting(): boolean;
  /** Whether a store read that does not say starts the item's TTL again; true unless configured (server/ttl.ts). */
  storeRefreshOnRead?: boolean;
}

export interface PreparedRun {
  /** Undefined for a stateless run: it gets a thread of its own. */
  threadId: string | undefined;
  /** The caller's say on the run's thread: metadata for a thread the run creates, filters an existing one must pass. */
  access?: RunThreadAccess;
  request: schemas.RunCreate;
  /** The assistant as read when the request was checked: queueing refuses another version of it. */
  assistant: AssistantRow;
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

/** How runs are checked and queued, for the routes and the cron scheduler. */
export interface RunQueueing {
  prepare(threadId: string | undefined, payload: schemas.RunCreate): Promise<PreparedRun>;
  /**
   * Queues a prepared run, in `client`'s transaction when given; the notices of the run and of
   * those it cancelled go out when that commits.
   */
  queue(prepared: PreparedRun, client?: pg.PoolClient): Promise<QueuedRun>;
}
