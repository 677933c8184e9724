import { randomUUID } from "node:crypto";
import type { AgentCard, Message, Task, TaskStatusUpdateEvent } from "@a2a-js/sdk";
import {
  type Client,
  ClientFactory,
  ClientFactoryOptions,
  DefaultAgentCardResolver,
  JsonRpcTransportFactory,
} from "@a2a-js/sdk/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestSchema, type TestSchema } from "../support/database.js";
import { startUsualProvider, tokenAuthEnv, type TestIdentityProvider } from "../support/identity_provider.js";
import { startServer, TASK, type ServerProcess } from "./support.js";

// `orchestra serve`'s A2A endpoint, driven by @a2a-js/sdk's own client, with the API key and a
// real OpenID provider's tokens on.

const API_KEY = "a2a-test-service-key";
let db: TestSchema;
let idp: TestIdentityProvider;
let tokens: Record<string, string>;
let server: ServerProcess;
let a2a: Client;

/** fetch with one credential header set on every request. */
const fetchWith =
  (name: string, value: string): typeof fetch =>
  (input, init) => {
    const headers = new Headers(init?.headers);
    headers.set(name, value);
    return fetch(input, { ...init, headers });
  };
const withKey = fetchWith("x-api-key", API_KEY);

async function a2aClient(fetchImpl: typeof fetch): Promise<Client> {
  const options = ClientFactoryOptions.createFrom(ClientFactoryOptions.default, {
    transports: [new JsonRpcTransportFactory({ fetchImpl })],
    cardResolver: new DefaultAgentCardResolver({ fetchImpl }),
  });
  return new ClientFactory(options).createFromUrl(server.url);
}

beforeAll(async () => {
  ({ idp, tokens } = await startUsualProvider());
  db = await createTestSchema();
  server = await startServer(db.schema, { ORCHESTRA_API_KEY: API_KEY, ...tokenAuthEnv(idp) });
  a2a = await a2aClient(withKey);
}, 120_000);

afterAll(async () => {
  await server?.stop();
  await idp?.stop();
  await db?.cleanup();
});

const message = (text: string, extra: Partial<Message> = {}): Message => ({
  kind: "message",
  role: "user",
  messageId: randomUUID(),
  parts: [{ kind: "text", text }],
  ...extra,
});
const never = { context: { review: "never" } };

describe("agent card", () => {
  it("lists the assistants as skills at the A2A endpoint", async () => {
    const card = (await (await withKey(`${server.url}/.well-known/agent-card.json`)).json()) as AgentCard;
    expect(card.url).toBe(`${server.url}/a2a`);
    expect(card.capabilities.streaming).toBe(true);
    expect(card.skills.map((s) => s.id).sort()).toEqual(["dynamic_agents", "enterprise_workflow", "parallel_workflow"]);
  });
});

describe("messages", () => {
  it("message/send runs the task to completed, with the output as an artifact; tasks/get reads the same", async () => {
    const task = (await a2a.sendMessage({
      message: message(TASK.task, { metadata: { skill: "parallel_workflow", ...never } }),
    })) as Task;
    expect(task.kind).toBe("task");
    expect(task.status.state).toBe("completed");
    const output = task.artifacts?.[0]?.parts[0];
    expect(output?.kind === "data" && output.data).toMatchObject({ status: "completed" });
    const read = await a2a.getTask({ id: task.id });
    expect(read).toMatchObject({ id: task.id, contextId: task.contextId, status: { state: "completed" } });
    // The task is the thread.
    expect((await server.client(API_KEY).threads.get(task.id)).status).toBe("idle");
  });

  it("message/stream streams the run's steps as status updates, then the final state", async () => {
    const updates: TaskStatusUpdateEvent[] = [];
    for await (const event of a2a.sendMessageStream({ message: message(TASK.task, { metadata: never }) })) {
      if (event.kind === "status-update") updates.push(event);
    }
    const steps = updates.filter((u) => u.status.state === "working" && u.status.message);
    expect(steps.length).toBeGreaterThan(2);
    expect(steps.map((u) => (u.status.message!.parts[0] as { text: string }).text)).toContain("task_analyzer done");
    expect(updates.at(-1)).toMatchObject({ final: true, status: { state: "completed" } });
  });

  it("a review gives input-required with the request; a follow-up message approves, and then the next", async () => {
    const paused = (await a2a.sendMessage({ message: message(TASK.task) })) as Task;
    expect(paused.status.state).toBe("input-required");
    const review = paused.status.message?.parts.find((p) => p.kind === "data");
    expect(review?.kind === "data" && review.data).toMatchObject({
      point: "sync_point_manager",
      options: ["approve", "reject", "feedback"],
    });
    expect((await a2a.getTask({ id: paused.id })).status.state).toBe("input-required");

    const approve = () => message("approve", { taskId: paused.id, contextId: paused.contextId });
    const next = (await a2a.sendMessage({ message: approve() })) as Task;
    expect(next).toMatchObject({ id: paused.id, status: { state: "input-required" } });
    const done = (await a2a.sendMessage({ message: approve() })) as Task;
    expect(done).toMatchObject({ id: paused.id, status: { state: "completed" } });
    const decisions = (await server.client(API_KEY).threads.getState(paused.id)).values as {
      reviewDecisions: { action: string }[];
    };
    expect(decisions.reviewDecisions.map((d) => d.action)).toEqual(["approve", "approve"]);
  });
});

describe("ownership", () => {
  it("runs as the caller: another user neither reads nor answers a user's task", async () => {
    const alice = await a2aClient(fetchWith("authorization", `Bearer ${tokens.alice}`));
    const bob = await a2aClient(fetchWith("authorization", `Bearer ${tokens.bob}`));
    const paused = (await alice.sendMessage({ message: message(TASK.task) })) as Task;
    expect(paused.status.state).toBe("input-required");
    expect((await server.client(API_KEY).threads.get(paused.id)).metadata).toMatchObject({ owner: "alice" });
    await expect(bob.getTask({ id: paused.id })).rejects.toThrow(/not found/i);
    await expect(bob.sendMessage({ message: message("approve", { taskId: paused.id }) })).rejects.toThrow(/not found/i);
    expect((await alice.getTask({ id: paused.id })).status.state).toBe("input-required");
  });
});

describe("refusals", () => {
  it("answers 401 without the API key, an unknown task as not found, bad input as a failed task saying why, and a body that is not JSON with 400", async () => {
    expect((await fetch(`${server.url}/.well-known/agent-card.json`)).status).toBe(401);
    const anonymous = await fetch(`${server.url}/a2a`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    expect(anonymous.status).toBe(401);

    await expect(a2a.getTask({ id: randomUUID() })).rejects.toThrow(/not found/i);
    const failed = (await a2a.sendMessage({ message: message("", { metadata: never }) })) as Task;
    expect(failed.status.state).toBe("failed");
    expect((failed.status.message!.parts[0] as { text: string }).text).toMatch(/^invalid input/);

    // tasks/cancel is refused, naming the API's cancel (the SDK's client shows only the kind of error).
    await expect(a2a.cancelTask({ id: failed.id })).rejects.toThrow(/not supported/);
    const cancel = await withKey(`${server.url}/a2a`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 7, method: "tasks/cancel", params: { id: failed.id } }),
    });
    expect(((await cancel.json()) as { error: { message: string } }).error.message).toMatch(
      /POST \/threads\/\{taskId\}\/runs\/\{run_id\}\/cancel/,
    );

    const garbled = await withKey(`${server.url}/a2a`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{not json",
    });
    expect(garbled.status).toBe(400);
    expect(((await garbled.json()) as { error: { message: string } }).error.message).toMatch(/not valid JSON/);
  });
});
