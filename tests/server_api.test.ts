import { readFile } from "node:fs/promises";
import path from "node:path";
import { Client, type Assistant } from "@langchain/langgraph-sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ProgressEvent } from "../state/parallel_workflow/progress.js";
import type { ReviewRequest } from "../state/parallel_workflow/workflow.js";
import type { WorkflowStateType } from "../state/parallel_workflow/workflow.js";
import { PROJECT_ROOT } from "./support/cli.js";
import { startLangGraphServer, type LangGraphServer } from "./support/langgraph_server.js";

// The workflow served by the LangGraph API server from langgraph.json, driven with the
// official SDK as Studio and API clients drive it. The server keeps its own checkpoints.

const TASK = "Evaluate adopting a managed vector database for a 10M-document semantic search service";
const BRANCHES = [
  "research_branch_alpha",
  "research_branch_beta",
  "research_branch_gamma",
  "analysis_branch_primary",
  "analysis_branch_secondary",
];

/** The documents' wiring, edge by edge: [source, target, route label or "" for a plain edge]. */
const EXPECTED_EDGES = [
  ["__start__", "task_analyzer", ""],
  ["task_analyzer", "parallel_coordinator", ""],
  // The Send fan-out: conditional edges with no label, one per branch node.
  ...BRANCHES.map((branch) => ["parallel_coordinator", branch, "send"]),
  ...BRANCHES.map((branch) => [branch, "sync_point_manager", ""]),
  ["sync_point_manager", "branch_merger", "proceed_to_merge"],
  ["sync_point_manager", "branch_merger", "conditional_proceed"],
  ["sync_point_manager", "branch_merger", "recovery_exhausted"],
  ["sync_point_manager", "parallel_coordinator", "continue_waiting"],
  ["sync_point_manager", "load_balancer", "timeout_recovery"],
  ["sync_point_manager", "__end__", "rejected"],
  ["load_balancer", "parallel_coordinator", ""],
  ["branch_merger", "quality_validator", ""],
  ["quality_validator", "final_integrator", "quality_approved"],
  ["quality_validator", "load_balancer", "needs_revision"],
  ["quality_validator", "__end__", "critical_failure"],
  ["quality_validator", "__end__", "rejected"],
  ["final_integrator", "__end__", ""],
].map((edge) => edge.join(" -> "));

let server: LangGraphServer;
let client: Client;
let assistant: Assistant;

beforeAll(async () => {
  server = await startLangGraphServer();
  client = new Client({ apiUrl: server.url });
  const found = await client.assistants.search({ graphId: "parallel_workflow" });
  expect(found).toHaveLength(1);
  assistant = found[0]!;
});
afterAll(() => server?.stop());

/** Streams one run in `updates` mode; returns the nodes that reported, in order, and the interrupt, if any. */
async function streamRun(threadId: string, assistantId: string, payload: Record<string, unknown>) {
  const nodes: string[] = [];
  let review: ReviewRequest | undefined;
  for await (const chunk of client.runs.stream(threadId, assistantId, { ...payload, streamMode: "updates" })) {
    if (chunk.event === "error") throw new Error(`run failed: ${JSON.stringify(chunk.data)}`);
    if (chunk.event !== "updates") continue;
    for (const [node, update] of Object.entries(chunk.data as Record<string, unknown>)) {
      if (node === "__interrupt__") review = (update as { value: ReviewRequest }[])[0]!.value;
      else nodes.push(node);
    }
  }
  return { nodes, review };
}

/** Starts a run and returns the first `error` event it streams, if any. */
async function runError(threadId: string, payload: Record<string, unknown>) {
  for await (const chunk of client.runs.stream(threadId, assistant.assistant_id, {
    ...payload,
    streamMode: "updates",
  })) {
    if (chunk.event === "error") return chunk.data as { error: string; message: string };
  }
  return undefined;
}

async function pendingReview(threadId: string): Promise<ReviewRequest | undefined> {
  const state = await client.threads.getState(threadId);
  return state.tasks.flatMap((task) => task.interrupts)[0]?.value as ReviewRequest | undefined;
}

async function valuesOf(threadId: string) {
  return (await client.threads.getState(threadId)).values as unknown as WorkflowStateType;
}

describe("the LangGraph server API", () => {
  it("serves every graph langgraph.json lists, each compiled without a checkpointer of its own", async () => {
    const config = JSON.parse(await readFile(path.join(PROJECT_ROOT, "langgraph.json"), "utf8")) as {
      graphs: Record<string, string>;
    };
    expect(config).toMatchObject({ node_version: expect.any(String), env: expect.any(Object) });
    expect(Object.keys(config.graphs)).toEqual(["parallel_workflow", "dynamic_agents", "enterprise_workflow"]);
    expect(assistant).toMatchObject({ graph_id: "parallel_workflow", name: "parallel_workflow" });
    for (const spec of Object.values(config.graphs)) {
      const [file, symbol] = spec.split(":");
      const exported = (await import(path.resolve(PROJECT_ROOT, file!)))[symbol!] as { checkpointer?: unknown };
      expect(exported.checkpointer).toBeUndefined();
    }
  });

  it("draws every node and every real edge, and no edge the graph never takes", async () => {
    const drawing = await client.assistants.getGraph(assistant.assistant_id);
    expect(drawing.nodes.map((node) => node.id).sort()).toEqual(
      [
        "__start__",
        "task_analyzer",
        "parallel_coordinator",
        ...BRANCHES,
        "sync_point_manager",
        "load_balancer",
        "branch_merger",
        "quality_validator",
        "final_integrator",
        "__end__",
      ].sort(),
    );
    const edges = drawing.edges.map((edge) => {
      const label = edge.conditional ? (typeof edge.data === "string" ? edge.data : "send") : "";
      return [edge.source, edge.target, label].join(" -> ");
    });
    expect(edges.sort()).toEqual([...EXPECTED_EDGES].sort());
  });

  it("serves the settings as the configuration schema, with descriptions and defaults", async () => {
    const schemas = await client.assistants.getSchemas(assistant.assistant_id);
    const properties = schemas.config_schema?.properties as Record<
      string,
      { default?: unknown; description?: string; type?: string }
    >;
    expect(
      Object.fromEntries(Object.entries(properties).map(([key, field]) => [key, [field.type, field.default]])),
    ).toEqual({
      model: ["string", "offline"],
      review: ["string", "always"],
      qualityThreshold: ["number", 0.8],
      maxRetries: ["integer", 2],
      maxRevisions: ["integer", 2],
      maxConcurrency: ["integer", 5],
      branchTimeoutMs: ["integer", 120_000],
      corpus: ["string", undefined],
      mcp: ["string", undefined],
      webSearch: ["boolean", false],
      toolBudget: ["integer", 6],
      toolTimeoutMs: ["integer", 20_000],
      toolLoopTimeoutMs: ["integer", 60_000],
    });
    for (const field of Object.values(properties)) expect(field.description).toMatch(/\w{3,}/);
    expect(properties.review).toMatchObject({ enum: ["always", "never"] });
    // Studio may leave any of them out: the defaults fill in.
    expect(schemas.config_schema?.required ?? []).toEqual([]);
    expect(schemas.context_schema).toEqual(schemas.config_schema);
    // The CLI's internal `settings` input key stays out of Studio's input form.
    expect(Object.keys(schemas.input_schema?.properties ?? {}).sort()).toEqual(["task", "taskQueue"]);
  });

  it("serves the state and output schemas for Studio's state and output views", async () => {
    const schemas = await client.assistants.getSchemas(assistant.assistant_id);
    for (const schema of [schemas.state_schema, schemas.output_schema]) {
      const properties = (schema?.properties ?? {}) as Record<string, { description?: string }>;
      expect(Object.keys(properties)).toEqual(
        expect.arrayContaining(["completedBranches", "qualityReport", "finalReport", "status", "settings"]),
      );
      for (const field of Object.values(properties)) expect(field.description).toMatch(/\w{3,}/);
    }
    expect(schemas.output_schema?.properties).toHaveProperty("status.enum", [
      "running",
      "completed",
      "failed",
      "rejected",
      "interrupted",
    ]);
  });

  it("runs a thread through both review points: feedback, then approvals, to a report", async () => {
    // An assistant as Studio makes one: its configuration must reach the nodes.
    const strict = await client.assistants.create({
      graphId: "parallel_workflow",
      name: "strict reviewer",
      context: { review: "always", qualityThreshold: 0.85 },
    });
    const thread = await client.threads.create();
    const threadId = thread.thread_id;

    const first = await streamRun(threadId, strict.assistant_id, { input: { task: TASK } });
    expect(first.nodes.slice(0, 2)).toEqual(["task_analyzer", "parallel_coordinator"]);
    expect([...new Set(first.nodes.filter((node) => BRANCHES.includes(node)))].sort()).toEqual([...BRANCHES].sort());
    expect(first.review).toMatchObject({ point: "sync_point_manager", options: ["approve", "reject", "feedback"] });
    expect(await pendingReview(threadId)).toEqual(first.review);
    expect((await client.threads.get(threadId)).status).toBe("interrupted");
    expect((await valuesOf(threadId)).settings).toMatchObject({
      review: "always",
      qualityThreshold: 0.85,
      maxRevisions: 2,
    });

    const feedback = "Cover licensing costs for self-hosting";
    const second = await streamRun(threadId, strict.assistant_id, {
      command: { resume: { action: "feedback", feedback, reviewer: "alice" } },
    });
    expect(second.nodes).toEqual(["sync_point_manager", "branch_merger"]);
    expect(second.review?.point).toBe("quality_validator");

    // The feedback asks for a revision, as it does from the CLI: approve until the run ends.
    const points: string[] = [];
    for (let review = second.review; review; ) {
      points.push(review.point);
      ({ review } = await streamRun(threadId, strict.assistant_id, {
        command: { resume: { action: "approve", reviewer: "bob" } },
      }));
    }
    expect(points).toEqual(["quality_validator", "sync_point_manager", "quality_validator"]);

    const final = await valuesOf(threadId);
    expect(final.status).toBe("completed");
    expect((await client.threads.get(threadId)).status).toBe("idle");
    for (const result of Object.values(final.completedBranches)) {
      expect(result.status).toBe("success");
      expect(result.results!.findings.length).toBeGreaterThan(0);
      expect(result.results!.findings[0]!.evidence.length).toBeGreaterThan(0);
    }
    expect(Object.keys(final.completedBranches)).toHaveLength(5);
    const revised = Object.values(final.activeBranches).filter((allocation) => allocation.attempt === 2);
    expect(revised.length).toBeGreaterThan(0);
    for (const allocation of revised) expect(allocation.feedback).toBe(feedback);
    expect(final.revisionCount).toBe(1);
    expect(final.qualityReport).toMatchObject({ route: "quality_approved", threshold: 0.85 });
    expect(final.qualityReport!.score).toBeGreaterThanOrEqual(0.85);
    expect(final.finalReport).toContain("# Workflow report");
    expect(final.finalReport).toContain(TASK);

    const decisions = final.executionTimeline.filter((event) => event.event === "review_decision");
    expect(decisions.map((d) => [d.point, d.action, d.reviewer, d.revision])).toEqual([
      ["sync_point_manager", "feedback", "alice", 0],
      ["quality_validator", "approve", "bob", 0],
      ["sync_point_manager", "approve", "bob", 1],
      ["quality_validator", "approve", "bob", 1],
    ]);
    expect(decisions[0]!.feedback).toBe(feedback);

    // History, newest first: every super-step's checkpoint, from the input to the end.
    const history = await client.threads.getHistory(threadId, { limit: 100 });
    expect(history[0]!.next).toEqual([]);
    expect(history.at(-1)!.metadata).toMatchObject({ source: "input", step: -1 });
    const steps = history.map((checkpoint) => checkpoint.metadata!.step as number);
    expect(steps).toEqual([...steps].sort((a, b) => b - a));
    const pauses = history.filter((checkpoint) => checkpoint.tasks.some((task) => task.interrupts.length > 0));
    expect(pauses.map((checkpoint) => checkpoint.next[0])).toEqual([
      "quality_validator",
      "sync_point_manager",
      "quality_validator",
      "sync_point_manager",
    ]);
  });

  it("asks again when a resume value is not a decision, and ends the thread rejected on reject", async () => {
    const thread = await client.threads.create();
    const threadId = thread.thread_id;
    const context = { review: "always" };
    await streamRun(threadId, assistant.assistant_id, { input: { task: TASK }, context });

    const invalid = await streamRun(threadId, assistant.assistant_id, {
      command: { resume: { action: "maybe" } },
      context,
    });
    expect(invalid.review).toMatchObject({
      point: "sync_point_manager",
      error: expect.stringMatching(/^invalid review decision: action:/),
    });

    const rejected = await streamRun(threadId, assistant.assistant_id, {
      command: { resume: { action: "reject", reviewer: "carol" } },
      context,
    });
    expect(rejected.review).toBeUndefined();
    const final = await valuesOf(threadId);
    expect(final.status).toBe("rejected");
    expect(final.failureReason).toBe("rejected by carol at sync_point_manager");
    expect(final.finalReport).toBeUndefined();
    expect((await client.threads.getState(threadId)).next).toEqual([]);
  });

  it("takes the settings from a run's configurable too, and runs past LangChain's default 25 steps", async () => {
    const thread = await client.threads.create();
    // One branch at a time and an unreachable threshold: two revisions, over 50 super-steps.
    const final = (await client.runs.wait(thread.thread_id, assistant.assistant_id, {
      input: { task: TASK },
      config: { configurable: { review: "never", maxConcurrency: 1, qualityThreshold: 0.99, maxRevisions: 2 } },
    })) as WorkflowStateType;

    expect(final.status).toBe("failed");
    expect(final.failureReason).toMatch(/still below threshold 0.99 after the last revision/);
    expect(final.revisionCount).toBe(2);
    expect(final.loadBalancingMetrics.allocatedBranches).toBe(1);
    const state = await client.threads.getState(thread.thread_id);
    expect(state.metadata!.step as number).toBeGreaterThan(25);
  });
});

describe("the API surface's rough edges", () => {
  it("refuses bad input and bad settings with the CLI's one-line message, and saves nothing", async () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ input: { task: "   " } }, /^invalid input: task: must not be empty$/],
      [{ input: {} }, /^invalid input: give exactly one of 'task' or 'taskQueue'$/],
      [
        { input: { task: TASK, taskQueue: [{ description: TASK }] } },
        /^invalid input: give exactly one of 'task' or 'taskQueue'$/,
      ],
      [{ input: { task: TASK, colour: "blue" } }, /^invalid input: input: Unrecognized key: "colour"$/],
      [{ input: { task: TASK }, context: { qualityThreshold: 5 } }, /^invalid configuration: qualityThreshold: .*<=1/],
      [
        { input: { task: TASK }, config: { configurable: { review: "sometimes" } } },
        /^invalid configuration: review: /,
      ],
      [{ input: { task: TASK, settings: { maxRetries: -1 } } }, /^invalid configuration: maxRetries: /],
    ];
    for (const [payload, message] of cases) {
      const thread = await client.threads.create();
      const error = await runError(thread.thread_id, payload);
      expect(error, JSON.stringify(payload)).toMatchObject({
        error: "InputError",
        message: expect.stringMatching(message),
      });
      expect(error!.message).not.toContain("\n");
      expect(await client.threads.getHistory(thread.thread_id), JSON.stringify(payload)).toEqual([]);
    }
  });

  it("lets a thread whose first run had a bad setting run well afterwards", async () => {
    const thread = await client.threads.create();
    const bad = await runError(thread.thread_id, {
      input: { task: TASK, settings: { review: "sometimes" } },
      config: { configurable: { maxConcurrency: 0 } },
    });
    expect(bad?.error).toBe("InputError");
    const final = (await client.runs.wait(thread.thread_id, assistant.assistant_id, {
      input: { task: TASK },
      context: { review: "never", maxConcurrency: 2 },
    })) as WorkflowStateType;
    expect(final.status).toBe("completed");
    expect(final.settings).toMatchObject({ review: "never", maxConcurrency: 2 });
  });

  it("refuses updateState without asNode, and an edit with asNode is asked about again", async () => {
    const thread = await client.threads.create();
    const threadId = thread.thread_id;
    const first = await streamRun(threadId, assistant.assistant_id, {
      input: { task: TASK },
      context: { review: "always" },
    });
    expect(first.review?.point).toBe("sync_point_manager");
    const before = await client.threads.getHistory(threadId);

    await expect(client.threads.updateState(threadId, { values: { revisionCount: 1 } })).rejects.toThrow(
      /^HTTP 400: updateState needs asNode, .*sync_point_manager.*branch_merger/,
    );
    expect(await client.threads.getHistory(threadId)).toHaveLength(before.length);
    expect(await pendingReview(threadId)).toEqual(first.review);

    // The README's protocol: at the quality_validator review, edit as branch_merger.
    const second = await streamRun(threadId, assistant.assistant_id, { command: { resume: { action: "approve" } } });
    expect(second.review?.point).toBe("quality_validator");
    const merged = (await valuesOf(threadId)).integrationResult!;
    const summary = "Edited through the API: managed offerings win on operating cost.";
    await client.threads.updateState(threadId, {
      values: { integrationResult: { ...merged, researchSynthesis: { ...merged.researchSynthesis, summary } } },
      asNode: "branch_merger",
    });
    const state = await client.threads.getState(threadId);
    expect(state.next).toEqual(["quality_validator"]);
    const asked = await streamRun(threadId, assistant.assistant_id, { command: { resume: { action: "approve" } } });
    expect(asked.nodes[0]).toBe("quality_validator");
    const final = await valuesOf(threadId);
    expect(final.status).toBe("completed");
    expect(final.integrationResult!.researchSynthesis.summary).toBe(summary);
  });

  it("streams progress in custom mode: phases, and each branch's start and end with its time and quality", async () => {
    const thread = await client.threads.create();
    const events: ProgressEvent[] = [];
    for await (const chunk of client.runs.stream(thread.thread_id, assistant.assistant_id, {
      input: { task: TASK },
      context: { review: "never" },
      streamMode: "custom",
    })) {
      if (chunk.event === "error") throw new Error(`run failed: ${JSON.stringify(chunk.data)}`);
      if (chunk.event === "custom") events.push(chunk.data as ProgressEvent);
    }
    const phases = events.flatMap((e) => (e.type === "phase_started" ? [e.phase] : []));
    expect([...new Set(phases)]).toEqual(["analysis", "fan-out", "sync", "merge", "validation", "integration"]);
    const started = events.filter((e) => e.type === "branch_started");
    const finished = events.flatMap((e) => (e.type === "branch_finished" ? [e] : []));
    expect(started.length).toBeGreaterThan(0);
    expect(finished.map((e) => e.branchId).sort()).toEqual(started.map((e) => e.branchId).sort());
    const final = await valuesOf(thread.thread_id);
    for (const event of finished) {
      const result = final.completedBranches[event.branchId]!;
      expect(event).toMatchObject({
        node: result.node,
        status: "success",
        seconds: result.performance.executionTime,
        quality: result.performance.dataQualityScore,
      });
      expect(event.quality).toBeGreaterThan(0);
    }
    // A branch ends after it starts.
    for (const event of finished) {
      expect(events.indexOf(event)).toBeGreaterThan(
        events.findIndex((e) => e.type === "branch_started" && e.branchId === event.branchId),
      );
    }
  });

  it("reports values.status as interrupted at a review point and failed after a failed run, never running", async () => {
    const thread = await client.threads.create();
    await streamRun(thread.thread_id, assistant.assistant_id, { input: { task: TASK }, context: { review: "always" } });
    expect((await valuesOf(thread.thread_id)).status).toBe("interrupted");
    const [latest] = await client.threads.getHistory(thread.thread_id, { limit: 1 });
    expect((latest!.values as WorkflowStateType).status).toBe("interrupted");

    // A model that fails in task_analyzer: the run errors with the thread left at that step.
    const failing = await startLangGraphServer({
      ORCHESTRA_OFFLINE_FAULTS: JSON.stringify({ task_analyzer: { fail: 100 } }),
    });
    try {
      const other = new Client({ apiUrl: failing.url });
      const failed = await other.threads.create();
      for await (const chunk of other.runs.stream(failed.thread_id, "parallel_workflow", { input: { task: TASK } })) {
        if (chunk.event === "error") break;
      }
      const state = await other.threads.getState(failed.thread_id);
      expect(state.next).toEqual(["task_analyzer"]);
      expect((state.values as WorkflowStateType).status).toBe("failed");
    } finally {
      await failing.stop();
    }
  });
});
