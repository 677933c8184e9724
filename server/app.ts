import { Hono } from "hono";
import { cors } from "hono/cors";
import { BatchedPostgresSaver } from "../checkpoints/saver.js";
import { a2aApi } from "./api/a2a.js";
import { assistantsApi } from "./api/assistants.js";
import { consoleApi } from "./api/console.js";
import { cronsApi } from "./api/crons.js";
import { mcpApi } from "./api/mcp.js";
import { metaApi } from "./api/meta.js";
import { metricsApi } from "./api/metrics.js";
import { optimizerApi } from "./api/optimizer.js";
import { runsApi } from "./api/runs.js";
import { storeApi } from "./api/store.js";
import { threadsApi } from "./api/threads.js";
import { triggersApi } from "./api/triggers.js";
import type { ApiDeps } from "./api/deps.js";
import type { ApiContext, RunQueueing } from "./context.js";
import { adminOnly, resourceGuard } from "./auth/middleware.js";
import { AuthHandlerError } from "./auth/custom.js";
import { answerError, answerNotFound, httpErrorName, requestLines } from "./http.js";
import { loopbackClient } from "./loopback.js";
import { lookups } from "./lookups.js";
import { requestBodies } from "./request_bodies.js";
import { runQueueing } from "./run_queueing.js";
import { type Repositories, openRepositories } from "./storage/repositories.js";
import { EventWaitsRepo, TriggerEventsRepo } from "./storage/trigger_events.js";
import { TriggerService } from "./triggers.js";

/**
 * The server's HTTP app: one sub-app per resource (api/), over repositories that hold the SQL
 * (storage/), as @langchain/langgraph-api lays out its own. The console's page and assets are
 * mounted before authentication; everything after it needs a caller, when auth is on, and a
 * thread's or an assistant's routes pass its guard (another user's is not found).
 */
export function createApp(ctx: ApiContext): {
  app: Hono;
  runs: RunQueueing;
  storage: Repositories;
  triggers: TriggerService;
} {
  const storage = openRepositories(ctx.pool, ctx.schema, ctx.bus);
  const shared = lookups(ctx, storage);
  const deps: ApiDeps = { ctx, storage, lookups: shared, runs: runQueueing(ctx, storage, shared) };
  const triggers = new TriggerService({
    pool: ctx.pool,
    triggers: ctx.triggers ?? [],
    runs: deps.runs,
    repo: new TriggerEventsRepo(ctx.pool, ctx.schema),
    waits: new EventWaitsRepo(ctx.pool, ctx.schema),
  });
  const metricsDb = {
    pool: ctx.pool,
    schema: ctx.schema,
    checkpointer: new BatchedPostgresSaver(ctx.pool, ctx.schema),
  };

  const app = new Hono();
  app.use(requestLines);
  app.use(
    cors({
      origin: ctx.corsOrigins,
      allowHeaders: ["content-type", "authorization", "x-api-key", "last-event-id", "x-auth-scheme"],
      exposeHeaders: ["content-location", "x-pagination-total"],
      credentials: true,
    }),
  );
  app.route("/", consoleApi());
  // A trigger's caller signs its request with the trigger's secret instead of authenticating.
  app.use("/triggers/*", requestBodies());
  app.route("/", triggersApi(triggers));
  app.use(ctx.authenticate);
  app.use(requestBodies());
  app.onError((error, c) =>
    // An Auth module's handler answers with its own status (403 when it refuses).
    error instanceof AuthHandlerError
      ? c.json({ error: httpErrorName(error.status), message: error.message }, error.status as 403)
      : answerError(error, c),
  );
  app.notFound(answerNotFound);
  // "/*" matches the bare "/threads/:thread_id" as well.
  app.use(
    "/threads/:thread_id/*",
    resourceGuard("threads", (id) =>
      shared.thread(id).then(
        (row) => row.metadata,
        () => undefined,
      ),
    ),
  );
  app.use(
    "/assistants/:assistant_id/*",
    resourceGuard("assistants", (id) =>
      shared.assistant(id).then(
        (row) => row.metadata,
        () => undefined,
      ),
    ),
  );
  app.use("/orchestra/optimize/:workflow/apply", adminOnly);

  app.route("/", metaApi());
  app.route("/", assistantsApi(deps));
  app.route("/", threadsApi(deps));
  app.route("/", runsApi(deps));
  app.route("/", metricsApi(metricsDb, [triggers.registry]));
  app.route("/", optimizerApi(metricsDb));
  app.route("/", storeApi(deps));
  app.route("/", cronsApi(deps));
  // The protocol adapters drive runs through the routes above, as the caller.
  const loopback = loopbackClient(app);
  app.route("/", mcpApi(loopback));
  app.route("/", a2aApi(loopback));
  return { app, runs: deps.runs, storage, triggers };
}
