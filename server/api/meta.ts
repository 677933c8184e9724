import { Hono } from "hono";

/** Health and capabilities: what the SDK and Studio ask before anything else. */
export function metaApi(): Hono {
  const api = new Hono();
  api.get("/ok", (c) => c.json({ ok: true }));
  api.get("/info", (c) => c.json({ version: "orchestra", flags: { assistants: true, crons: true, langsmith: false } }));
  return api;
}
