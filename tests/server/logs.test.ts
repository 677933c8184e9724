import { rmSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readableLine } from "../../checkpoints/log.js";
import { createTestSchema, type TestSchema } from "../support/database.js";
import { startOpenAIServer, type OpenAIServer } from "../support/openai_server.js";
import { startReceiver, type Receiver } from "../support/receiver.js";
import { registryMcpFile, tempDir } from "../support/sources.js";
import { type ServerProcess, startServer } from "./support.js";

// `orchestra serve` at debug, its stderr a pipe: two runs through the API (an engine workflow that
// calls a webhook and a real OpenAI client, a research run calling an MCP server), with a secret
// planted in the webhook's header, the model key and the MCP server's env. The lines that log
// those objects whole must carry the ids and none of the secrets.

const WEBHOOK_SECRET = "planted-webhook-header-6f1d";
const MODEL_KEY = "sk-planted-model-key-93ab";
const MCP_SECRET = "planted-mcp-env-c4e7";
// The shipped triggers' secrets: set, so start-up logs no "is not set" line, and planted like the rest.
const TRIGGER_SECRET = "planted-trigger-secret-5d21";

let db: TestSchema;
let model: OpenAIServer;
let receiver: Receiver;
let server: ServerProcess;
const mcpDir = tempDir("logs-mcp");

beforeAll(async () => {
  db = await createTestSchema();
  model = await startOpenAIServer();
  receiver = await startReceiver();
  server = await startServer(db.schema, {
    ORCHESTRA_LOG_LEVEL: "debug",
    OPENAI_API_KEY: MODEL_KEY,
    OPENAI_BASE_URL: model.url,
    ORCHESTRA_WEBHOOK_ALLOW_HOSTS: "127.0.0.1",
    ORCHESTRA_RESEARCH_TRIGGER_SECRET: TRIGGER_SECRET,
    ORCHESTRA_PAYMENT_TRIGGER_SECRET: TRIGGER_SECRET,
  });
}, 120_000);
afterAll(async () => {
  await server?.stop();
  await receiver?.stop();
  await model?.close();
  await db?.cleanup();
  rmSync(mcpDir, { recursive: true, force: true });
});

const definition = {
  name: "logged",
  steps: [
    { stepId: "quote", stepType: "worker", action: { llm: "Quote the order." } },
    {
      stepId: "notify",
      stepType: "webhook",
      dependencies: ["quote"],
      action: { webhook: { endpoint: "", headers: { Authorization: `Bearer ${WEBHOOK_SECRET}` } } },
    },
  ],
};

type Line = Record<string, unknown>;

describe("the server's log", () => {
  it("is JSON lines; every line of a run carries its thread, run and workflow ids; no planted secret appears", async () => {
    const client = server.client();
    const engineThread = await client.threads.create();
    definition.steps[1]!.action.webhook!.endpoint = `${receiver.url}/notify`;
    const engine = (await client.runs.wait(engineThread.thread_id, "enterprise_workflow", {
      input: { definition, input: {} },
      config: { configurable: { model: "openai:gpt-4o-mini" } },
    })) as { status: string };
    expect(engine.status).toBe("COMPLETED");
    expect((await receiver.received()).find((call) => call.path === "/notify")?.headers.authorization).toBe(
      `Bearer ${WEBHOOK_SECRET}`,
    );

    const researchThread = await client.threads.create();
    const mcp = registryMcpFile(mcpDir, { REGISTRY_TOKEN: MCP_SECRET });
    await client.runs.wait(researchThread.thread_id, "parallel_workflow", {
      input: { task: 'Which team owns project "Orchid"?' },
      config: { configurable: { review: "never", mcp } },
    });
    const runs = [
      ...(await client.runs.list(engineThread.thread_id)),
      ...(await client.runs.list(researchThread.thread_id)),
    ];
    expect(runs).toHaveLength(2);

    const output = server.output();
    const lines = output
      .split("\n")
      .filter((line) => line.trim() && !line.startsWith('{"url"'))
      .map((line) => JSON.parse(line) as Line);
    expect(
      lines.every(
        (line) => typeof line.level === "string" && typeof line.time === "string" && typeof line.msg === "string",
      ),
    ).toBe(true);

    // Every line but the per-request ones was written during a run and names it.
    const ofRuns = lines.filter((line) => line.msg !== "request");
    for (const line of ofRuns) {
      const run = runs.find((r) => r.run_id === line.run_id);
      expect(run, `a line without its run: ${JSON.stringify(line)}`).toBeDefined();
      expect(line).toMatchObject({
        thread_id: run!.thread_id,
        graph_id: expect.stringMatching(/^(enterprise_workflow|parallel_workflow)$/),
      });
    }
    const messages = (threadId: string) =>
      ofRuns
        .filter((line) => line.thread_id === threadId)
        .map((line) => `${line.msg}${line.step ? ` ${line.step}` : ""}`);
    expect(messages(engineThread.thread_id)).toEqual(
      expect.arrayContaining([
        "step started quote",
        "chat model",
        "step completed quote",
        "step started notify",
        "step completed notify",
        "run finished",
      ]),
    );
    expect(messages(researchThread.thread_id)).toEqual(
      expect.arrayContaining(["connecting MCP servers", "run finished"]),
    );
    expect(lines.filter((line) => line.msg === "request").length).toBeGreaterThan(0);

    // The objects holding the secrets were logged, with the secrets redacted.
    const first = (msg: string) => ofRuns.find((line) => line.msg === msg) as any;
    expect(first("chat model").model.apiKey).toBe("[redacted]");
    expect(ofRuns.find((line) => line.step === "notify" && line.msg === "step started")).toMatchObject({
      action: { webhook: { headers: "[redacted]" } },
    });
    expect(first("connecting MCP servers").mcp.registry.env).toBe("[redacted]");
    for (const secret of [WEBHOOK_SECRET, MODEL_KEY, MCP_SECRET, TRIGGER_SECRET]) expect(output).not.toContain(secret);

    // Its shutdown is logged as JSON too.
    expect(await server.stop()).toBe(0);
    const all = server
      .output()
      .split("\n")
      .filter((line) => line.trim() && !line.startsWith('{"url"'));
    expect(all.length).toBeGreaterThan(lines.length);
    for (const line of all) expect(() => JSON.parse(line), line).not.toThrow();
  }, 240_000);
});

describe("a terminal's line", () => {
  it("reads as time, level, message and the flat fields; nested objects are left to the JSON lines", () => {
    const json = JSON.stringify({
      level: "warn",
      time: "2026-12-08T01:02:03.456Z",
      pid: 1,
      thread_id: "t1",
      msg: "step failed",
      step: "quote",
      attempts: 3,
      retryDelaysMs: [4, 9],
      action: { llm: "Quote." },
    });
    expect(readableLine(json)).toBe(
      "01:02:03.456 WARN  step failed  thread_id=t1 step=quote attempts=3 retryDelaysMs=[4,9]\n",
    );
  });
});
