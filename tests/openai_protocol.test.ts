import { HumanMessage, SystemMessage } from "@langchain/core/messages";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { createChatModel } from "../models/index.js";
import { BRANCH_FINDINGS, BranchFindingsSchema } from "../state/shared/findings.js";
import { startOpenAIServer, type OpenAIServer } from "./support/openai_server.js";

// The real @langchain/openai client over HTTP, against a local server that speaks the
// protocol and answers with the offline model: what OPENAI_BASE_URL users get.

let server: OpenAIServer;

beforeAll(async () => {
  server = await startOpenAIServer();
});
afterAll(() => server?.close());
beforeEach(() => {
  server.requests.length = 0;
  server.faults.length = 0;
  vi.stubEnv("OPENAI_API_KEY", "test-key");
  vi.stubEnv("OPENAI_BASE_URL", server.url);
  vi.stubEnv("ORCHESTRA_OFFLINE_FAULTS", undefined);
  vi.stubEnv("ORCHESTRA_OFFLINE_LATENCY_MS", undefined);
});
afterEach(() => {
  vi.unstubAllEnvs();
});

const BRIEF = [
  new SystemMessage("You are a market research agent."),
  new HumanMessage(
    [
      "Branch b2-research-market (attempt 1).",
      "Objective: Size the demand for hydroponic rooftop farms",
      "Research focus: market",
      "",
      "Task queue:",
      "1. Evaluate hydroponic farming for urban rooftops, including water costs and crop yields",
      "",
      "Return at most 3 findings, each with concrete evidence and a confidence.",
    ].join("\n"),
  ),
];

describe("ChatOpenAI against an OpenAI-protocol server", () => {
  it("returns structured output through response_format, from the request it sent", async () => {
    const model = createChatModel("openai:gpt-4o-mini").withStructuredOutput(BranchFindingsSchema, {
      name: BRANCH_FINDINGS,
    });
    const findings = await model.invoke(BRIEF);

    expect(BranchFindingsSchema.parse(findings)).toEqual(findings);
    expect(findings.findings.length).toBeLessThanOrEqual(3);
    expect(JSON.stringify(findings)).toMatch(/hydroponic/i);

    expect(server.requests).toHaveLength(1);
    const [request] = server.requests;
    expect(request).toMatchObject({ method: "POST", path: "/v1/chat/completions" });
    expect(request!.headers.authorization).toBe("Bearer test-key");
    expect(request!.body.model).toBe("gpt-4o-mini");
    expect(request!.body.messages.map((m: { role: string }) => m.role)).toEqual(["system", "user"]);
    expect(request!.body.messages[1].content).toContain("hydroponic rooftop farms");
    // gpt-4o-mini supports JSON Schema output, so that is ChatOpenAI's default method.
    expect(request!.body.response_format).toMatchObject({
      type: "json_schema",
      json_schema: { name: BRANCH_FINDINGS, strict: true },
    });
  });

  it("returns structured output through a forced tool call", async () => {
    const model = createChatModel("openai:gpt-4o-mini").withStructuredOutput(BranchFindingsSchema, {
      name: BRANCH_FINDINGS,
      method: "functionCalling",
    });
    const findings = await model.invoke(BRIEF);

    expect(BranchFindingsSchema.parse(findings)).toEqual(findings);
    expect(JSON.stringify(findings)).toMatch(/hydroponic/i);
    const { body } = server.requests[0]!;
    expect(body.tools.map((t: { function: { name: string } }) => t.function.name)).toEqual([BRANCH_FINDINGS]);
    expect(body.tool_choice).toEqual({ type: "function", function: { name: BRANCH_FINDINGS } });
  });

  it("answers a plain invoke and a stream in text", async () => {
    const model = createChatModel("openai:gpt-4o-mini");
    const reply = await model.invoke("Hydroponic rooftops save water. Pumps need winter care.");
    expect(reply.content).toBe("[offline] Hydroponic rooftops save water. Pumps need winter care.");
    expect(reply.response_metadata).toMatchObject({ model_name: "gpt-4o-mini", finish_reason: "stop" });
    expect(reply.usage_metadata!.total_tokens).toBeGreaterThan(0);

    let streamed = "";
    for await (const chunk of await model.stream("Stream about hydroponic rooftops.")) streamed += chunk.content;
    expect(streamed).toBe("[offline] Stream about hydroponic rooftops.");
    expect(server.requests.map((r) => r.body.stream)).toEqual([false, true]);
  });
});
