import { afterAll, beforeAll } from "vitest";
import { createTestSchema, type TestSchema } from "./database.js";
import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { ToolChoice } from "@langchain/core/language_models/chat_models";
import { AIMessage, HumanMessage, SystemMessage, ToolMessage, type BaseMessage } from "@langchain/core/messages";
import { createChatModel } from "../../models/index.js";
import type { OfflineChatModel, OfflineTool } from "../../models/offline/model.js";

/**
 * A local server speaking enough of OpenAI's chat completions protocol for ChatOpenAI,
 * answering with the offline model: tests drive the real @langchain/openai client
 * over HTTP without a network or a key.
 */

/**
 * A scripted failure for the next request, or with `match` for the next request whose body
 * contains that text (a branch id, say): the way real providers fail.
 */
export type Fault = (
  | { kind: "status"; status: number; retryAfterSeconds?: number; message?: string }
  | { kind: "malformed" }
  | { kind: "reset" }
) & { match?: string };

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingMessage["headers"];
  /** The parsed JSON body, or the raw text when it was not JSON. */
  body: any;
  /** Date.now() when the request arrived. */
  at: number;
  /** The fault it was served, if any. */
  fault?: Fault["kind"];
}

export interface OpenAIServerOptions {
  /** Faults served to the next requests, in order, before normal answers resume. */
  faults?: Fault[];
}

export interface OpenAIServer {
  /** Base URL including /v1, for OPENAI_BASE_URL. */
  url: string;
  requests: RecordedRequest[];
  /** The pending scripted faults; push more at any time. */
  faults: Fault[];
  close(): Promise<void>;
}

interface ChatRequest {
  model: string;
  messages: OpenAIMessage[];
  tools?: OfflineTool[];
  tool_choice?: unknown;
  response_format?: { type: string; json_schema?: { name: string; schema?: Record<string, unknown> } };
  stream?: boolean;
  stream_options?: { include_usage?: boolean };
}

interface OpenAIMessage {
  role: "system" | "developer" | "user" | "assistant" | "tool";
  content: string | { type: string; text?: string }[] | null;
  tool_calls?: { id: string; function: { name: string; arguments: string } }[];
  tool_call_id?: string;
}

function textOf(content: OpenAIMessage["content"]): string {
  if (content === null) return "";
  if (typeof content === "string") return content;
  return content.map((part) => (part.type === "text" ? (part.text ?? "") : "")).join("");
}

function toLangChain(message: OpenAIMessage): BaseMessage {
  const content = textOf(message.content);
  switch (message.role) {
    case "system":
    case "developer":
      return new SystemMessage(content);
    case "assistant":
      return new AIMessage({
        content,
        tool_calls: (message.tool_calls ?? []).map((call) => ({
          id: call.id,
          name: call.function.name,
          args: JSON.parse(call.function.arguments) as Record<string, unknown>,
          type: "tool_call" as const,
        })),
      });
    case "tool":
      return new ToolMessage({ content, tool_call_id: message.tool_call_id ?? "" });
    default:
      return new HumanMessage(content);
  }
}

interface Answer {
  content: string | null;
  toolCalls?: { id: string; type: "function"; function: { name: string; arguments: string } }[];
  usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
}

/** Runs the request through the offline model; a json_schema response format becomes a forced tool call. */
async function answer(request: ChatRequest): Promise<Answer> {
  const messages = request.messages.map(toLangChain);
  // The factory's offline model: it carries every registered workflow's skills.
  const model = createChatModel("offline") as OfflineChatModel;
  const format = request.response_format?.type === "json_schema" ? request.response_format.json_schema : undefined;
  const reply = format
    ? await model
        .bindTools([{ type: "function", function: { name: format.name, parameters: format.schema ?? {} } }], {
          tool_choice: format.name,
        })
        .invoke(messages)
    : request.tools?.length
      ? await model.bindTools(request.tools, { tool_choice: request.tool_choice as ToolChoice }).invoke(messages)
      : await model.invoke(messages);
  const usage = {
    prompt_tokens: reply.usage_metadata?.input_tokens ?? 0,
    completion_tokens: reply.usage_metadata?.output_tokens ?? 0,
    total_tokens: reply.usage_metadata?.total_tokens ?? 0,
  };
  const calls = reply.tool_calls ?? [];
  if (format) return { content: JSON.stringify(calls[0]?.args ?? {}), usage };
  if (calls.length) {
    return {
      content: null,
      toolCalls: calls.map((call) => ({
        id: call.id ?? "call_offline",
        type: "function" as const,
        function: { name: call.name, arguments: JSON.stringify(call.args) },
      })),
      usage,
    };
  }
  return { content: typeof reply.content === "string" ? reply.content : JSON.stringify(reply.content), usage };
}

function completion(request: ChatRequest, reply: Answer) {
  return {
    id: `chatcmpl-offline-${Date.now()}`,
    object: "chat.completion",
    created: Math.floor(Date.now() / 1000),
    model: request.model,
    choices: [
      {
        index: 0,
        message: {
          role: "assistant",
          content: reply.content,
          ...(reply.toolCalls ? { tool_calls: reply.toolCalls } : {}),
          refusal: null,
        },
        finish_reason: reply.toolCalls ? "tool_calls" : "stop",
        logprobs: null,
      },
    ],
    usage: reply.usage,
  };
}

/** The same answer as server-sent chunks: role, content or tool call deltas, finish, usage. */
function streamChunks(request: ChatRequest, reply: Answer): unknown[] {
  const base = {
    id: `chatcmpl-offline-${Date.now()}`,
    object: "chat.completion.chunk",
    created: Math.floor(Date.now() / 1000),
    model: request.model,
  };
  const chunk = (delta: object, finish: string | null = null) => ({
    ...base,
    choices: [{ index: 0, delta, finish_reason: finish }],
  });
  const deltas: unknown[] = [chunk({ role: "assistant", content: "" })];
  if (reply.toolCalls) {
    reply.toolCalls.forEach((call, index) =>
      deltas.push(chunk({ tool_calls: [{ index, id: call.id, type: "function", function: call.function }] })),
    );
  } else {
    for (const piece of (reply.content ?? "").match(/\S+\s*|\s+/g) ?? []) deltas.push(chunk({ content: piece }));
  }
  deltas.push(chunk({}, reply.toolCalls ? "tool_calls" : "stop"));
  if (request.stream_options?.include_usage) deltas.push({ ...base, choices: [], usage: reply.usage });
  return deltas;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    req.on("data", (part: Buffer) => parts.push(part));
    req.on("end", () => resolve(Buffer.concat(parts).toString("utf8")));
    req.on("error", reject);
  });
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  res.writeHead(status, { "content-type": "application/json", ...headers });
  res.end(JSON.stringify(body));
}

function serveFault(fault: Fault, res: ServerResponse) {
  if (fault.kind === "reset") {
    res.socket?.destroy();
  } else if (fault.kind === "malformed") {
    res.writeHead(200, { "content-type": "application/json" });
    res.end('{"id": "chatcmpl-broken", "choices": [');
  } else {
    const headers: Record<string, string> =
      fault.retryAfterSeconds !== undefined ? { "retry-after": String(fault.retryAfterSeconds) } : {};
    const type = fault.status === 429 ? "rate_limit_exceeded" : "server_error";
    sendJson(
      res,
      fault.status,
      { error: { message: fault.message ?? `scripted ${fault.status}`, type, code: type } },
      headers,
    );
  }
}

export async function startOpenAIServer(options: OpenAIServerOptions = {}): Promise<OpenAIServer> {
  const requests: RecordedRequest[] = [];
  const faults = [...(options.faults ?? [])];
  // A path of its own: a model endpoint's circuit breaker is kept in the database by URL, and a
  // later server on a reused port must not find an earlier test's breaker open.
  const prefix = `/${randomBytes(6).toString("hex")}`;

  const server = createServer(async (req, res) => {
    const raw = await readBody(req);
    let body: any = raw;
    try {
      body = JSON.parse(raw);
    } catch {
      // Recorded as text: a test may be checking what a client sent that was not JSON.
    }
    const path = (req.url ?? "").split("?")[0]!.replace(prefix, "");
    const request: RecordedRequest = { method: req.method ?? "", path, headers: req.headers, body, at: Date.now() };
    requests.push(request);

    if (req.method !== "POST" || !/^(?:\/v1)?\/chat\/completions$/.test(path)) {
      return sendJson(res, 404, {
        error: { message: `no route for ${req.method} ${path}`, type: "invalid_request_error" },
      });
    }
    const index = faults.findIndex((f) => f.match === undefined || raw.includes(f.match));
    if (index >= 0) {
      const [fault] = faults.splice(index, 1);
      request.fault = fault!.kind;
      return serveFault(fault!, res);
    }
    if (typeof body !== "object" || !Array.isArray(body?.messages)) {
      return sendJson(res, 400, {
        error: { message: "body must be JSON with messages", type: "invalid_request_error" },
      });
    }

    try {
      const request = body as ChatRequest;
      const reply = await answer(request);
      if (!request.stream) return sendJson(res, 200, completion(request, reply));
      res.writeHead(200, {
        "content-type": "text/event-stream",
        "cache-control": "no-cache",
        connection: "keep-alive",
      });
      for (const chunk of streamChunks(request, reply)) res.write(`data: ${JSON.stringify(chunk)}\n\n`);
      res.end("data: [DONE]\n\n");
    } catch (error) {
      sendJson(res, 500, { error: { message: (error as Error).message, type: "server_error" } });
    }
  });

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${prefix}/v1`,
    requests,
    faults,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

/** A test file's own OpenAI-protocol server and schema: started before its tests, gone after them. */
export function openAIServerWithSchema(): { readonly db: TestSchema; readonly server: OpenAIServer } {
  const fixture = {} as { db: TestSchema; server: OpenAIServer };
  beforeAll(async () => {
    fixture.db = await createTestSchema();
    fixture.server = await startOpenAIServer();
  });
  afterAll(async () => {
    await fixture.server?.close();
    await fixture.db?.cleanup();
  });
  return fixture;
}
