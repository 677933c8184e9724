import type { Message } from "@a2a-js/sdk";
import { describe, expect, it } from "vitest";
import { decisionOf, inputOf, taskState } from "../../server/api/a2a.js";
import { assistantTool, toolNames, toolResult } from "../../server/api/mcp.js";

// The MCP and A2A adapters' pure decisions: tool names and schemas, results, task states, and
// what a message means.

const text = (value: string): Message => ({
  kind: "message",
  role: "user",
  messageId: "m",
  parts: [{ kind: "text", text: value }],
});

describe("MCP tools", () => {
  it("names each assistant's tool by its name, made safe, and tells apart assistants that share one", () => {
    const names = toolNames([
      { assistant_id: "a1", name: "parallel_workflow" },
      { assistant_id: "a2", name: "island research!" },
      { assistant_id: "a3", name: "island research?" },
    ]);
    expect([...names.values()]).toEqual(["parallel_workflow", "island_research_", "island_research__a3"]);
  });

  it("takes the input schema without its required list, adds the run's arguments, and refuses an input that clashes with them", () => {
    const tool = assistantTool(
      "p",
      { graph_id: "g" },
      { type: "object", properties: { task: { type: "string" } }, required: ["task"] },
      null,
    );
    expect(tool.inputSchema).toMatchObject({
      type: "object",
      properties: { task: { type: "string" }, context: { type: "object" }, thread_id: { type: "string" } },
    });
    expect(tool.inputSchema.required).toBeUndefined();
    expect(tool.description).toContain("Give task on a first call");
    expect(() => assistantTool("p", { graph_id: "g" }, { properties: { resume: {} } }, null)).toThrow(/resume/);
  });

  it("answers the final values, the review with its thread, or the run's error", () => {
    expect(toolResult("t", { status: "completed" }).structuredContent).toEqual({
      thread_id: "t",
      status: "completed",
      output: { status: "completed" },
    });
    expect(toolResult("t", { __interrupt__: [{ value: { point: "p" } }] }).structuredContent).toEqual({
      thread_id: "t",
      status: "interrupted",
      review: { point: "p" },
    });
    expect(toolResult("t", { __error__: { message: "boom" } })).toMatchObject({
      isError: true,
      content: [{ text: "the run failed: boom" }],
    });
  });
});

describe("A2A tasks", () => {
  it("reads a thread's status as the task's state", () => {
    expect(taskState("idle", false)).toBe("submitted");
    expect(taskState("busy", true)).toBe("working");
    expect(taskState("interrupted", true)).toBe("input-required");
    expect(taskState("error", true)).toBe("failed");
    expect(taskState("idle", true)).toBe("completed");
  });

  it("reads a first message's text as the task, and a follow-up's as the decision: approve, reject, else feedback", () => {
    expect(inputOf(text("Compare solar and wind"))).toEqual({ task: "Compare solar and wind" });
    expect(inputOf({ ...text(""), parts: [{ kind: "data", data: { taskQueue: [] } }] })).toEqual({ taskQueue: [] });
    expect(decisionOf(text("Approve."))).toEqual({ action: "approve" });
    expect(decisionOf(text("reject"))).toEqual({ action: "reject" });
    expect(decisionOf(text("Cover the costs too"))).toEqual({ action: "feedback", feedback: "Cover the costs too" });
  });
});
