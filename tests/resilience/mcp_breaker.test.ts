import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { openSources, type OpenSources } from "../../nodes/shared/sources/sources.js";
import { runSourceCall } from "../../nodes/shared/sources/source_tool.js";
import { createTestSchema, type TestSchema } from "../support/database.js";
import { registryMcpFile, sourcesSettings, tempDir } from "../support/sources.js";

// The registry test server over stdio, with a tool that fails and one that never answers; the
// breakers live in the test's own schema.

let db: TestSchema;
let sources: OpenSources;
let callLog: string;

beforeAll(async () => {
  db = await createTestSchema();
  const dir = tempDir("mcp-breaker");
  callLog = join(dir, "calls.log");
  vi.stubEnv("ORCHESTRA_DB_SCHEMA", db.schema);
  sources = await openSources(
    sourcesSettings({ mcp: registryMcpFile(dir, { REGISTRY_FAULTY: "1", REGISTRY_CALL_LOG: callLog }) }),
  );
});
afterAll(async () => {
  await sources?.close();
  await db?.cleanup();
});
beforeEach(() => vi.stubEnv("ORCHESTRA_DB_SCHEMA", db.schema));
afterEach(() => vi.unstubAllEnvs());

const call = (name: string, args: Record<string, unknown>) =>
  runSourceCall(
    sources.tools.find((source) => source.tool.name === name),
    { name, args, id: name, type: "tool_call" },
    300,
    undefined,
  );
const lookups = () =>
  readFileSync(callLog, "utf8")
    .split("\n")
    .filter((line) => line === "start orchid").length;

describe("an MCP server's circuit breaker", () => {
  it("ignores the tool's own error answers, opens after 5 calls the server never answers, then refuses at once", async () => {
    for (let i = 0; i < 6; i++) expect((await call("registry__broken_search", { query: "x" })).status).toBe("error");
    expect(await call("registry__lookup", { term: "orchid" })).toMatchObject({ status: "ok" });
    expect(lookups()).toBe(1);

    for (let i = 0; i < 5; i++)
      expect(await call("registry__stuck_search", { query: "x" })).toMatchObject({ error: "timed out after 300 ms" });
    const refused = await call("registry__lookup", { term: "orchid" });
    expect(refused).toMatchObject({
      status: "error",
      error: expect.stringMatching(/^circuit open for mcp:registry#[0-9a-f]{12}: 5 consecutive failures/),
    });
    expect(lookups()).toBe(1);
  });
});
