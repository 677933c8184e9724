import { spawn } from "node:child_process";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { CircuitOpenError } from "../../checkpoints/breakers.js";
import { createChatModel, endpointFailure, modelEndpoint } from "../../models/index.js";
import { track } from "../support/children.js";
import { openAIServerWithSchema } from "../support/openai_server.js";

// The real OpenAI client against a local server speaking the protocol, failing on cue; the breakers
// live in the test's own schema, as a run's would in its checkpoints' database.

const COOLDOWN_MS = 1500;
const fixture = openAIServerWithSchema();
beforeEach(() => {
  vi.stubEnv("OPENAI_API_KEY", "sk-test-breaker");
  vi.stubEnv("OPENAI_BASE_URL", fixture.server.url);
  vi.stubEnv("ORCHESTRA_DB_SCHEMA", fixture.db.schema);
  vi.stubEnv("ORCHESTRA_BREAKER_COOLDOWN_MS", String(COOLDOWN_MS));
});
afterEach(() => vi.unstubAllEnvs());

/**
 * A call in another process on the same database and endpoint. Each process measures the cool-down
 * with its own setting, so the child's long one keeps an open breaker open however slowly it starts.
 */
function callFromAnotherProcess(): Promise<{ ok: boolean; error?: string }> {
  const env = { ...process.env, ORCHESTRA_BREAKER_COOLDOWN_MS: "600000" };
  const child = spawn(process.execPath, ["--import", "tsx", "tests/support/model_call_child.ts"], {
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()));
  track(child, exited);
  return exited.then(() => JSON.parse(stdout.trim().split("\n").at(-1)!) as { ok: boolean; error?: string });
}

describe("a model endpoint's circuit breaker", () => {
  it("opens after 5 failing calls, refuses the next at once here and in another process, and lets a trial through after the cool-down", async () => {
    const model = createChatModel("openai:gpt-4o-mini");
    // Each call is the client's own three tries (two retries); a short retry-after keeps them quick.
    for (let i = 0; i < 15; i++) fixture.server.faults.push({ kind: "status", status: 503, retryAfterSeconds: 0.01 });
    for (let call = 1; call <= 5; call++) await expect(model.invoke("Say hello.")).rejects.toThrow(/503/);
    expect(fixture.server.requests).toHaveLength(15);

    const endpoint = modelEndpoint(fixture.server.url);
    await expect(model.invoke("Say hello.")).rejects.toThrow(CircuitOpenError);
    await expect(model.invoke("Say hello.")).rejects.toThrow(`circuit open for ${endpoint}: 5 consecutive failures`);
    const elsewhere = await callFromAnotherProcess();
    expect(elsewhere).toEqual({ ok: false, error: expect.stringContaining(`circuit open for ${endpoint}`) });
    expect(fixture.server.requests).toHaveLength(15);

    // After this process's cool-down one trial call reaches the endpoint; it succeeds and closes the breaker.
    await new Promise((resolve) => setTimeout(resolve, COOLDOWN_MS + 200));
    await expect(model.invoke("Say hello.")).resolves.toBeDefined();
    expect(fixture.server.requests).toHaveLength(16);
    expect(await callFromAnotherProcess()).toEqual({ ok: true });
    expect(fixture.server.requests).toHaveLength(17);
  });

  it("counts what says the endpoint is unwell, not a request it refused or a cancelled call", () => {
    const withStatus = (status: number) => Object.assign(new Error(`${status} status code`), { status });
    expect([500, 503, 429, 408].map((status) => endpointFailure(withStatus(status)))).toEqual([true, true, true, true]);
    expect([400, 401, 404, 422].map((status) => endpointFailure(withStatus(status)))).toEqual([
      false,
      false,
      false,
      false,
    ]);
    expect(endpointFailure(new Error("Connection error."))).toBe(true);
    expect(endpointFailure(Object.assign(new Error("Request was aborted."), { name: "AbortError" }))).toBe(false);
    expect(modelEndpoint("https://user:secret@example.com/v1/?key=abc")).toBe("model:https://example.com/v1");
  });
});
