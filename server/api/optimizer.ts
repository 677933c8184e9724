import { Hono } from "hono";
import type { MetricsDatabase } from "../../metrics/collector.js";
import { knownGraphs, optimizeWorkflow, variantNames } from "../../metrics/optimize.js";
import { InputError } from "../../state/shared/errors.js";

function workflowParam(value: string): string {
  if (!/^[A-Za-z0-9_-]{1,100}$/.test(value))
    throw new InputError(`'${value}' is not a workflow name: use letters, digits, _ and -`);
  return value;
}

/** The console's optimizer: what can be optimized, the recommendations, and applying them. */
export function optimizerApi(db: MetricsDatabase): Hono {
  const api = new Hono();
  api.get("/orchestra/workflows", async (c) =>
    c.json({ graphs: Object.keys(knownGraphs()), definitions: await variantNames() }),
  );
  api.get("/orchestra/optimize/:workflow", async (c) =>
    c.json(await optimizeWorkflow(db, { workflow: workflowParam(c.req.param("workflow")) })),
  );
  api.post("/orchestra/optimize/:workflow/apply", async (c) =>
    c.json(await optimizeWorkflow(db, { workflow: workflowParam(c.req.param("workflow")), apply: true })),
  );
  return api;
}
