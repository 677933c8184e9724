import { Hono } from "hono";
import { cors } from "hono/cors";
import { BatchedPostgresSaver } from "../checkpoints/saver.js";
import { assistantsApi } from "./api/assistants.js";
import { consoleApi } from "./api/console.js";
import { cronsApi } from "./api/crons.js";
import { metaApi } from "./api/meta.js";
import { metricsApi } from "./api/metrics.js";
import { optimizerApi } from "./api/optimizer.js";
import { runsApi } from "./api/runs.js";
import { storeApi } from "./api/store.js";
import { threadsApi } from "./api/threads.js";
import type { ApiDeps } from "./api/deps.js";
import type { ApiContext, RunQueueing } from "./context.js";
import { answerError, answerNotFound, requireApiKey } from "./http.js";
import { lookups } from "./lookups.js";
import { runQueueing } from "./run_queueing.js";
import { type Repositories, openRepositories } from "./storage/repositories.js";

/**
 * The server's HTTP app: one sub-app per resource (api/), over repositories that hold the SQL
 * (storage/), as @langchain/langgraph-api lays out its own. The console's page and assets are
 * mounted before the API key check; everything after it needs the key, when there is one.
 */
export function createApp(ctx: ApiContext): { app: Hono; runs: RunQueueing; storage: Repositories } {
  const storage = openRepositories(ctx.pool, ctx.schema, ctx.bus);
  const shared = lookups(ctx, storage);
  const deps: ApiDeps = { ctx, storage, lookups: shared, runs: runQueueing(ctx, storage, shared) };
  const metricsDb = { pool: ctx.pool, schema: ctx.schema, checkpointer: new BatchedPostgresSaver(ctx.pool, ctx.schema) };

  const app = new Hono();
  app.use(
    cors({
      origin: ctx.corsOrigins,
      allowHeaders: ["content-type", "authorization", "x-api-key", "last-event-id", "x-auth-scheme"],
      exposeHeaders: ["content-location", "x-pagination-total"],
      credentials: true,
    }),
  );
  app.route("/", consoleApi());
  app.use(requireApiKey(ctx.apiKey));
  app.onError(answerError);
  app.notFound(answerNotFound);

  app.route("/", metaApi());
  app.route("/", assistantsApi(deps));
  app.route("/", threadsApi(deps));
  app.route("/", runsApi(deps));
  app.route("/", metricsApi(metricsDb));
  app.route("/", optimizerApi(metricsDb));
  app.route("/", storeApi(deps));
  app.route("/", cronsApi(deps));
  return { app, runs: deps.runs, storage };
}
