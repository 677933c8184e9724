import type { Assistant, Client } from "@langchain/langgraph-sdk";
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js";
import {
  CallToolRequestSchema,
  type CallToolResult,
  ErrorCode,
  ListToolsRequestSchema,
  McpError,
  type Tool,
} from "@modelcontextprotocol/sdk/types.js";
import { Hono } from "hono";
import { InputError } from "../../state/shared/errors.js";
import { type LoopbackClient, refusal } from "../loopback.js";

/** Tool arguments that are not the graph's input: they steer the run. */
export const RUN_ARGUMENTS = ["context", "thread_id", "resume"] as const;

type JsonSchema = { type?: unknown; properties?: Record<string, unknown>; required?: string[]; [key: string]: unknown };

/** MCP tool names are at most 128 of [A-Za-z0-9_.-]. */
const toolNameOf = (name: string) => name.replace(/[^A-Za-z0-9_.-]+/g, "_").slice(0, 128) || "assistant";

/** Each assistant's tool name: its name, made safe; a name taken already gets the assistant id after it. */
export function toolNames(assistants: Pick<Assistant, "assistant_id" | "name">[]): Map<string, string> {
  const names = new Map<string, string>();
  const taken = new Set<string>();
  for (const { assistant_id, name } of assistants) {
    const base = toolNameOf(name);
    const chosen = taken.has(base) ? toolNameOf(`${base.slice(0, 91)}_${assistant_id}`) : base;
    taken.add(chosen);
    names.set(assistant_id, chosen);
  }
  return names;
}

/**
 * The assistant as a tool: its graph's input schema, plus `context` (the run's settings, as
 * the assistant's context schema has them) and `thread_id` with `resume` to answer a review
 * the last call stopped at. The input's required fields are not required here: a resuming call
 * sends none, and the run's own check names a missing one.
 */
export function assistantTool(
  name: string,
  assistant: Pick<Assistant, "description" | "graph_id">,
  input: JsonSchema | null,
  context: JsonSchema | null,
): Tool {
  const clashing = RUN_ARGUMENTS.filter((key) => input?.properties?.[key] !== undefined);
  if (clashing.length)
    throw new Error(
      `graph ${assistant.graph_id}'s input has ${clashing.join(", ")}, which the MCP tool keeps for the run; rename that input field`,
    );
  const { required, ...inputSchema } = input ?? {};
  return {
    name,
    description: [
      assistant.description ?? `Runs the ${assistant.graph_id} workflow and returns its final values.`,
      required?.length ? `Give ${required.join(", ")} on a first call.` : "",
      'When the run stops for a review, the result has its thread_id and the review request: call again with that thread_id and resume (e.g. {"action": "approve"}).',
    ]
      .filter(Boolean)
      .join(" "),
    inputSchema: {
      ...inputSchema,
      type: "object",
      properties: {
        ...inputSchema.properties,
        context: {
          ...context,
          type: "object",
          description: "The run's settings (for instance review: never); the assistant's own apply where left out.",
        },
        thread_id: {
          type: "string",
          description: "The thread a review stopped at, from the last result: continue it with resume.",
        },
        resume: {
          type: "object",
          description:
            "The answer to the review the thread stopped at, as its options say: {action: approve | reject | feedback, feedback?, reviewer?}.",
        },
      },
    },
  };
}

/** What a run's wait answered, as the tool's result: the final values, the review it stopped at, or its error. */
export function toolResult(threadId: string, values: Record<string, unknown>): CallToolResult {
  const failure = values.__error__ as { error?: string; message?: string } | undefined;
  if (failure)
    return {
      isError: true,
      content: [{ type: "text", text: `the run failed: ${failure.message ?? failure.error ?? "no message"}` }],
    };
  const interrupts = values.__interrupt__ as { value?: unknown }[] | undefined;
  const outcome = interrupts?.length
    ? { thread_id: threadId, status: "interrupted", review: interrupts[0]!.value }
    : { thread_id: threadId, status: "completed", output: values };
  return { content: [{ type: "text", text: JSON.stringify(outcome) }], structuredContent: outcome };
}

const asObject = (value: unknown, what: string): Record<string, unknown> => {
  if (value === undefined) return {};
  if (value !== null && typeof value === "object" && !Array.isArray(value)) return value as Record<string, unknown>;
  throw new InputError(`${what} must be an object`);
};

async function runAssistant(
  client: Client,
  assistantId: string,
  args: Record<string, unknown>,
): Promise<CallToolResult> {
  const { context, thread_id: given, resume, ...input } = args;
  try {
    const settings = asObject(context, "context");
    if (resume !== undefined && given === undefined)
      throw new InputError("resume needs the thread_id of the run that stopped for review, from that call's result");
    if (given !== undefined && typeof given !== "string") throw new InputError("thread_id must be a string");
    const threadId = given ?? (await client.threads.create()).thread_id;
    const payload = resume === undefined ? { input } : { command: { resume: asObject(resume, "resume") } };
    const values = (await client.runs.wait(threadId, assistantId, { ...payload, context: settings })) as Record<
      string,
      unknown
    >;
    return toolResult(threadId, values);
  } catch (error) {
    // The caller's mistakes are results the model reads and can correct, as MCP asks of tools.
    const refused = error instanceof InputError ? error : refusal(error);
    if (!refused) throw error;
    return { isError: true, content: [{ type: "text", text: refused.message }] };
  }
}

/** The caller's assistants as tools, by tool name. */
async function assistantTools(client: Client): Promise<Map<string, { assistantId: string; tool: Tool }>> {
  const assistants = await client.assistants.search({ limit: 1000 });
  const names = toolNames(assistants);
  const tools = await Promise.all(
    assistants.map(async (assistant) => {
      const schemas = await client.assistants.getSchemas(assistant.assistant_id);
      const name = names.get(assistant.assistant_id)!;
      const tool = assistantTool(
        name,
        assistant,
        schemas.input_schema as JsonSchema | null,
        schemas.context_schema as JsonSchema | null,
      );
      return [name, { assistantId: assistant.assistant_id, tool }] as const;
    }),
  );
  return new Map(tools);
}

/** The MCP server for one request: stateless, so any instance answers any call. */
function mcpServer(client: Client): Server {
  const server = new Server({ name: "langgraph-orchestra", version: "0.1.0" }, { capabilities: { tools: {} } });
  server.setRequestHandler(ListToolsRequestSchema, async () => ({
    tools: [...(await assistantTools(client)).values()].map((entry) => entry.tool),
  }));
  server.setRequestHandler(CallToolRequestSchema, async (request) => {
    const entry = (await assistantTools(client)).get(request.params.name);
    if (!entry)
      throw new McpError(
        ErrorCode.InvalidParams,
        `no tool ${JSON.stringify(request.params.name)}: tools/list names the assistants you may run`,
      );
    return runAssistant(client, entry.assistantId, request.params.arguments ?? {});
  });
  return server;
}

/**
 * /mcp: the assistants as MCP tools over Streamable HTTP (stateless: JSON answers, no session).
 * Behind the server's authentication like every route; the runs go through its own API.
 */
export function mcpApi(loopback: LoopbackClient): Hono {
  const api = new Hono();
  api.post("/mcp", async (c) => {
    const transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: undefined,
      enableJsonResponse: true,
    });
    await mcpServer(loopback(c.req.raw.headers)).connect(transport);
    return transport.handleRequest(c.req.raw);
  });
  // No session, so no stream of server-initiated messages to open or session to end.
  api.on(["GET", "DELETE"], "/mcp", (c) =>
    c.json(
      { error: "MethodNotAllowed", message: "this MCP endpoint is stateless: send JSON-RPC requests with POST" },
      405,
    ),
  );
  return api;
}
