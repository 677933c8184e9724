import type { ApiContext, Repositories, RunQueueing } from "../context.js";
import type { Lookups } from "../lookups.js";

/** What each resource's sub-app is built from: the context, the repositories and the shared lookups. */
export interface ApiDeps {
  ctx: ApiContext;
  storage: Repositories;
  lookups: Lookups;
  runs: RunQueueing;
}
