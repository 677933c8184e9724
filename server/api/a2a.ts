import { randomUUID } from "node:crypto";
import type { AgentCard, Message, Part, Task, TaskState, TaskStatusUpdateEvent } from "@a2a-js/sdk";
import {
  A2AError,
  type AgentExecutor,
  DefaultExecutionEventBusManager,
  DefaultRequestHandler,
  type ExecutionEventBus,
  JsonRpcTransportHandler,
  type RequestContext,
  type TaskStore,
} from "@a2a-js/sdk/server";
import type { Client, Thread } from "@langchain/langgraph-sdk";
import { Hono } from "hono";
import { streamSSE } from "hono/streaming";
import { DEFAULT_WORKFLOW } from "../../graphs/registry.js";
import { type LoopbackClient, refusal } from "../loopback.js";

/**
 * A2A (protocol 0.3: message/send, message/stream, tasks/get) over the server's threads and runs.
 * A task is a thread: its id is the thread id; a first message runs the skill (an assistant) on
 * a new thread, and a message to a task that stopped for review (input-required) resumes it with
 * the decision the message gives. tasks/get reads the thread and its last run, so every instance
 * answers for every task and nothing is kept twice.
 */

const A2A_PATH = "/a2a";

/**
 * A task's state is its thread's, and a cancelled run leaves its thread resumable, not `canceled`:
 * the SDK's cancel could only report failure, so it is refused up front, naming the API's cancel.
 */
const CANCEL_UNSUPPORTED = A2AError.unsupportedOperation(
  "tasks/cancel is not offered: cancel the task's run with POST /threads/{taskId}/runs/{run_id}/cancel",
);

/** The thread's status as the task's state. */
export function taskState(threadStatus: Thread["status"], hasRun: boolean): TaskState {
  if (!hasRun) return "submitted";
  switch (threadStatus) {
    case "busy":
      return "working";
    case "interrupted":
      return "input-required";
    case "error":
      return "failed";
    default:
      return "completed";
  }
}

const agentMessage = (taskId: string, contextId: string, parts: Part[]): Message => ({
  kind: "message",
  role: "agent",
  messageId: randomUUID(),
  taskId,
  contextId,
  parts,
});

const textOf = (message: Message) =>
  message.parts
    .flatMap((part) => (part.kind === "text" ? [part.text] : []))
    .join("\n")
    .trim();
const dataOf = (message: Message) => message.parts.find((part) => part.kind === "data")?.data;

/** A first message's input: its data part as the skill's input, else its text as the task. */
export function inputOf(message: Message): Record<string, unknown> {
  return dataOf(message) ?? { task: textOf(message) };
}

/** A follow-up's review decision: its data part, else its text: approve, reject, or any other words as feedback. */
export function decisionOf(message: Message): Record<string, unknown> {
  const data = dataOf(message);
  if (data) return data;
  const text = textOf(message);
  const action = text.toLowerCase().replace(/[.!]+$/, "");
  return action === "approve" || action === "reject" ? { action } : { action: "feedback", feedback: text };
}

/** What the task shows of the review it stopped at: the question as text and the request as data. */
function reviewMessage(taskId: string, contextId: string, review: unknown): Message {
  const question = (review as { question?: unknown } | undefined)?.question;
  const parts: Part[] = [
    {
      kind: "text",
      text: `${typeof question === "string" ? question : "The run waits for a review."} Answer with approve, reject, or feedback text.`,
    },
    { kind: "data", data: (review ?? {}) as Record<string, unknown> },
  ];
  return agentMessage(taskId, contextId, parts);
}

const metadataString = (message: Message, key: string) =>
  typeof message.metadata?.[key] === "string" ? (message.metadata[key] as string) : undefined;

/** The task a thread stands for, read through the caller's own API: undefined when the caller cannot see it. */
async function threadTask(client: Client, taskId: string): Promise<Task | undefined> {
  const thread = await client.threads.get(taskId).catch((error: unknown) => {
    if (refusal(error)?.status === 404 || refusal(error)?.status === 422) return undefined;
    throw error;
  });
  if (!thread) return undefined;
  const [lastRun] = await client.runs.list(taskId, { limit: 1 });
  const contextId = (lastRun?.metadata?.a2a_context_id as string | undefined) ?? taskId;
  const state = taskState(thread.status, lastRun !== undefined);
  const review = Object.values(thread.interrupts ?? {}).flat()[0]?.value;
  return {
    kind: "task",
    id: taskId,
    contextId,
    status: {
      state,
      timestamp: thread.updated_at,
      ...(state === "input-required" ? { message: reviewMessage(taskId, contextId, review) } : {}),
    },
    ...(state === "completed"
      ? {
          artifacts: [
            {
              artifactId: "output",
              name: "output",
              parts: [{ kind: "data", data: (thread.values ?? {}) as Record<string, unknown> }],
            },
          ],
        }
      : {}),
    metadata: { skill: lastRun?.assistant_id },
  };
}

/** Tasks are threads: nothing to save, the runs write them. */
function threadTaskStore(client: Client): TaskStore {
  return { save: async () => {}, load: (taskId) => threadTask(client, taskId) };
}

/** Runs a message on its thread, publishing the run's progress as status updates and its end as the task's last state. */
function runExecutor(client: Client, defaultSkill: string): AgentExecutor {
  const status = (
    taskId: string,
    contextId: string,
    state: TaskState,
    final: boolean,
    message?: Message,
  ): TaskStatusUpdateEvent => ({
    kind: "status-update",
    taskId,
    contextId,
    final,
    status: { state, timestamp: new Date().toISOString(), ...(message ? { message } : {}) },
  });

  async function execute(request: RequestContext, bus: ExecutionEventBus): Promise<void> {
    const { taskId, contextId, userMessage, task } = request;
    const say = (text: string) => agentMessage(taskId, contextId, [{ kind: "text", text }]);
    try {
      if (task && task.status.state !== "input-required") {
        bus.publish(
          status(
            taskId,
            contextId,
            task.status.state,
            true,
            say(`task ${taskId} is ${task.status.state}: a message continues a task only when it asks for input`),
          ),
        );
        return;
      }
      const skill =
        (task?.metadata?.skill as string | undefined) ?? metadataString(userMessage, "skill") ?? defaultSkill;
      if (!task)
        bus.publish({
          kind: "task",
          id: taskId,
          contextId,
          status: { state: "submitted", timestamp: new Date().toISOString() },
          history: [userMessage],
        });
      const payload = task
        ? { command: { resume: decisionOf(userMessage) } }
        : { input: inputOf(userMessage), ifNotExists: "create" as const };
      const context = userMessage.metadata?.context as Record<string, unknown> | undefined;
      bus.publish(status(taskId, contextId, "working", false));
      const stream = client.runs.stream(taskId, skill, {
        ...payload,
        ...(context ? { context } : {}),
        metadata: { a2a_context_id: contextId },
        streamMode: ["updates"],
      });
      for await (const chunk of stream) {
        if (chunk.event === "error") throw new Error((chunk.data as { message?: string }).message ?? "the run failed");
        if (chunk.event !== "updates") continue;
        const nodes = Object.keys(chunk.data as object).filter((node) => !node.startsWith("__"));
        if (nodes.length) bus.publish(status(taskId, contextId, "working", false, say(`${nodes.join(", ")} done`)));
      }
      const ended = await threadTask(client, taskId);
      for (const artifact of ended?.artifacts ?? [])
        bus.publish({ kind: "artifact-update", taskId, contextId, artifact, lastChunk: true });
      bus.publish(status(taskId, contextId, ended?.status.state ?? "failed", true, ended?.status.message));
    } catch (error) {
      bus.publish(
        status(
          taskId,
          contextId,
          "failed",
          true,
          say(refusal(error)?.message ?? (error instanceof Error ? error.message : String(error))),
        ),
      );
    } finally {
      bus.finished();
    }
  }

  return { execute, cancelTask: async () => Promise.reject(CANCEL_UNSUPPORTED) };
}

/** The agent card: the caller's assistants as skills, at this server's A2A endpoint. */
async function agentCard(client: Client, origin: string): Promise<AgentCard> {
  const assistants = await client.assistants.search({ limit: 1000 });
  return {
    protocolVersion: "0.3.0",
    name: "langgraph-orchestra",
    description: "Durable multi-agent workflows: each skill is an assistant, each task a thread.",
    url: `${origin}${A2A_PATH}`,
    preferredTransport: "JSONRPC",
    version: "0.1.0",
    capabilities: { streaming: true, pushNotifications: false, stateTransitionHistory: false },
    defaultInputModes: ["text/plain", "application/json"],
    defaultOutputModes: ["application/json", "text/plain"],
    skills: assistants.map((assistant) => ({
      id: assistant.graph_id === assistant.name ? assistant.graph_id : assistant.assistant_id,
      name: assistant.name,
      description: assistant.description ?? `Runs the ${assistant.graph_id} workflow`,
      tags: [assistant.graph_id],
    })),
  };
}

/** The agent card at /.well-known/agent-card.json and JSON-RPC at /a2a, behind the server's authentication. */
export function a2aApi(loopback: LoopbackClient): Hono {
  const api = new Hono();
  // The SDK keeps an event bus per running task: one manager for this instance's requests, not one each.
  const buses = new DefaultExecutionEventBusManager();
  api.get("/.well-known/agent-card.json", async (c) =>
    c.json(await agentCard(loopback(c.req.raw.headers), new URL(c.req.url).origin)),
  );
  api.post(A2A_PATH, async (c) => {
    const client = loopback(c.req.raw.headers);
    let request: unknown;
    try {
      request = await c.req.json();
    } catch {
      return c.json(
        {
          jsonrpc: "2.0",
          id: null,
          error: { code: -32700, message: "the request body is not valid JSON: send a JSON-RPC 2.0 request" },
        },
        400,
      );
    }
    const { id = null, method } = (request ?? {}) as { id?: unknown; method?: unknown };
    if (method === "tasks/cancel") return c.json({ jsonrpc: "2.0", id, error: CANCEL_UNSUPPORTED.toJSONRPCError() });
    const card = await agentCard(client, new URL(c.req.url).origin);
    const handler = new DefaultRequestHandler(
      card,
      threadTaskStore(client),
      runExecutor(client, DEFAULT_WORKFLOW),
      buses,
    );
    const answer = await new JsonRpcTransportHandler(handler).handle(request);
    if (!(Symbol.asyncIterator in answer)) return c.json(answer);
    return streamSSE(c, async (sse) => {
      for await (const event of answer) await sse.writeSSE({ data: JSON.stringify(event) });
    });
  });
  return api;
}
