import { HumanMessage, SystemMessage } from "@langchain/core/messages";
import { createReactAgent } from "@langchain/langgraph/prebuilt";
import { MultiServerMCPClient } from "@langchain/mcp-adapters";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OfflineChatModel } from "../../models/offline/model.js";
import { createTestSchema, type TestSchema } from "../support/database.js";
import { startUsualProvider, tokenAuthEnv, type TestIdentityProvider } from "../support/identity_provider.js";
import { startServer, TASK, type ServerProcess } from "./support.js";

// `orchestra serve`'s /mcp endpoint, driven by the MCP SDK's own client and by
// @langchain/mcp-adapters inside a LangGraph agent, with the API key and a real OpenID provider's
// tokens on.

const API_KEY = "mcp-test-service-key";
let db: TestSchema;
let idp: TestIdentityProvider;
let tokens: Record<string, string>;
let server: ServerProcess;
let mcp: Client;

async function mcpClient(headers: Record<string, string>): Promise<Client> {
  const client = new Client({ name: "mcp-test", version: "1.0.0" });
  await client.connect(new StreamableHTTPClientTransport(new URL(`${server.url}/mcp`), { requestInit: { headers } }));
  return client;
}

interface Outcome {
  thread_id: string;
  status: "completed" | "interrupted";
  review?: { point: string; options: string[] };
  output?: { status: string; finalReport: string };
}

beforeAll(async () => {
  ({ idp, tokens } = await startUsualProvider());
  db = await createTestSchema();
  server = await startServer(db.schema, { ORCHESTRA_API_KEY: API_KEY, ...tokenAuthEnv(idp) });
  mcp = await mcpClient({ "x-api-key": API_KEY });
}, 120_000);

afterAll(async () => {
  await mcp?.close();
  await server?.stop();
  await idp?.stop();
  await db?.cleanup();
});

async function call(name: string, args: Record<string, unknown>): Promise<Outcome> {
  const result = await mcp.callTool({ name, arguments: args });
  expect(result.isError, JSON.stringify(result.content)).toBeFalsy();
  return result.structuredContent as unknown as Outcome;
}

describe("tools", () => {
  it("lists each assistant as a tool with its input schema and the run's arguments", async () => {
    const { tools } = await mcp.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(["dynamic_agents", "enterprise_workflow", "parallel_workflow"]);
    const research = tools.find((t) => t.name === "parallel_workflow")!;
    expect(Object.keys(research.inputSchema.properties ?? {})).toEqual(
      expect.arrayContaining(["task", "taskQueue", "context", "thread_id", "resume"]),
    );
    expect((research.inputSchema.properties!.context as { properties: object }).properties).toHaveProperty("review");
  });

  it("runs the research workflow to its end with review: never", async () => {
    const done = await call("parallel_workflow", { ...TASK, context: { review: "never" } });
    expect(done.status).toBe("completed");
    expect(done.output).toMatchObject({ status: "completed" });
    expect(done.output!.finalReport).toContain("# Workflow report");
  });

  it("returns the review a run stops at, and a call with its thread_id and resume continues it to the end", async () => {
    const paused = await call("parallel_workflow", TASK);
    expect(paused).toMatchObject({
      status: "interrupted",
      review: { point: "sync_point_manager", options: ["approve", "reject", "feedback"] },
    });
    const approve = { thread_id: paused.thread_id, resume: { action: "approve", reviewer: "ada" } };
    const next = await call("parallel_workflow", approve);
    expect(next).toMatchObject({
      thread_id: paused.thread_id,
      status: "interrupted",
      review: { point: "quality_validator" },
    });
    const done = await call("parallel_workflow", approve);
    expect(done).toMatchObject({ thread_id: paused.thread_id, status: "completed", output: { status: "completed" } });
  });
});

describe("refusals", () => {
  it("answers 401 without a credential, an error result for bad input, an error for an unknown tool, and 405 to GET", async () => {
    const anonymous = await fetch(`${server.url}/mcp`, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json, text/event-stream" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" }),
    });
    expect(anonymous.status).toBe(401);
    expect(((await anonymous.json()) as { message: string }).message).toMatch(/token/);

    const bad = await mcp.callTool({ name: "parallel_workflow", arguments: { task: "" } });
    expect(bad.isError).toBe(true);
    expect((bad.content as { text: string }[])[0]!.text).toMatch(/^invalid input/);
    const lost = await mcp.callTool({ name: "parallel_workflow", arguments: { resume: { action: "approve" } } });
    expect(lost.isError).toBe(true);
    expect((lost.content as { text: string }[])[0]!.text).toMatch(/thread_id/);
    await expect(mcp.callTool({ name: "no_such_assistant", arguments: {} })).rejects.toThrow(
      /no tool "no_such_assistant"/,
    );
    // Stateless: no stream to open with GET.
    const get = await fetch(`${server.url}/mcp`, { headers: { "x-api-key": API_KEY, accept: "text/event-stream" } });
    expect(get.status).toBe(405);
    expect(((await get.json()) as { message: string }).message).toMatch(/stateless: send JSON-RPC requests with POST/);
  });
});

describe("ownership", () => {
  it("runs as the caller: a user's review is hers, and another user's resume of it finds no thread", async () => {
    const [alice, bob] = await Promise.all([
      mcpClient({ authorization: `Bearer ${tokens.alice}` }),
      mcpClient({ authorization: `Bearer ${tokens.bob}` }),
    ]);
    try {
      const paused = (await alice.callTool({ name: "parallel_workflow", arguments: TASK }))
        .structuredContent as unknown as Outcome;
      expect(paused.status).toBe("interrupted");
      expect((await server.client(API_KEY).threads.get(paused.thread_id)).metadata).toMatchObject({ owner: "alice" });
      const stolen = await bob.callTool({
        name: "parallel_workflow",
        arguments: { thread_id: paused.thread_id, resume: { action: "approve" } },
      });
      expect(stolen.isError).toBe(true);
      expect((stolen.content as { text: string }[])[0]!.text).toMatch(/not found/);
      expect((await server.client(API_KEY).threads.get(paused.thread_id)).status).toBe("interrupted");
    } finally {
      await Promise.all([alice.close(), bob.close()]);
    }
  });
});

describe("@langchain/mcp-adapters", () => {
  it("loads the assistants as tools into a LangGraph agent, whose model calls one and reads its result", async () => {
    const assistant = await server
      .client(API_KEY)
      .assistants.create({ graphId: "parallel_workflow", name: "island_research", context: { review: "never" } });
    const adapters = new MultiServerMCPClient({
      mcpServers: { orchestra: { url: `${server.url}/mcp`, headers: { "x-api-key": API_KEY } } },
    });
    try {
      const tools = (await adapters.getTools()).filter((tool) => tool.name.endsWith("island_research"));
      expect(tools).toHaveLength(1);
      const agent = createReactAgent({ llm: new OfflineChatModel(), tools });
      const { messages } = await agent.invoke({
        messages: [
          new SystemMessage("Tool budget: 1 calls."),
          new HumanMessage(`Objective: ${TASK.task}, as island research`),
        ],
      });
      const results = messages.filter((m) => m.getType() === "tool");
      expect(results).toHaveLength(1);
      // The adapters hand the model the tool's text block (with its structured content), as JSON.
      const block = JSON.parse(String(results[0]!.content)) as { type: string; text: string };
      const read = JSON.parse(block.text) as Outcome;
      expect(read).toMatchObject({ status: "completed", output: { status: "completed" } });
      expect(read.output!.finalReport).toContain("# Workflow report");
      expect((await server.client(API_KEY).threads.get(read.thread_id)).status).toBe("idle");
    } finally {
      await adapters.close();
      await server.client(API_KEY).assistants.delete(assistant.assistant_id);
    }
  });
});
