import { describe, expect, it } from "vitest";
import { jsonResult, runCli } from "./support/cli.js";
import { openAIServerWithSchema } from "./support/openai_server.js";

// The whole workflow through the real ChatOpenAI client, against a local server that
// speaks the chat-completions protocol: every node's structured output crosses HTTP.

const fixture = openAIServerWithSchema();

describe("the workflow on ORCHESTRA_MODEL=openai:<name>", () => {
  it("completes with every model call made over the OpenAI protocol", async () => {
    const result = await runCli(["run", "Compare CDN providers for a video platform", "--review", "never", "--json"], {
      ORCHESTRA_DB_SCHEMA: fixture.db.schema,
      ORCHESTRA_MODEL: "openai:gpt-4o-mini",
      OPENAI_API_KEY: "sk-test-planted-secret",
      OPENAI_BASE_URL: fixture.server.url,
    });
    expect(result.code, result.stderr).toBe(0);
    const out = jsonResult(result);
    expect(out.status).toBe("completed");
    expect(out.report).toContain("CDN providers");
    expect(out.report).not.toContain("Produced by the offline model");

    const chat = fixture.server.requests.filter((r) => r.path.endsWith("/chat/completions"));
    expect(chat.every((r) => r.body.model === "gpt-4o-mini")).toBe(true);
    expect(chat.every((r) => r.headers.authorization === "Bearer sk-test-planted-secret")).toBe(true);
    // Structured output names the schema it asks for, as a tool or as a JSON-schema response format.
    const asked = chat.map((r) => r.body.tools?.[0]?.function?.name ?? r.body.response_format?.json_schema?.name);
    const count = (name: string) => asked.filter((a) => a === name).length;
    expect(count("task_analysis")).toBe(1);
    expect(count("branch_findings")).toBe(5);
    expect(count("merge_synthesis")).toBe(2);
    expect(count("quality_judgement")).toBe(1);
  });
});
