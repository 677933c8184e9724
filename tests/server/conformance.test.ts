import type { Client } from "@langchain/langgraph-sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compileWorkflow } from "../../graphs/parallel_workflow.js";
import { createTestSchema, type TestSchema } from "../support/database.js";
import { type ServerProcess, startServer, TASK } from "./support.js";

// The SDK against `orchestra serve` in a child process, on a schema of its own.

let db: TestSchema;
let server: ServerProcess;
let client: Client;

beforeAll(async () => {
  db = await createTestSchema();
  server = await startServer(db.schema);
  client = server.client();
}, 90_000);
afterAll(async () => {
  await server?.stop();
  await db?.cleanup();
});

interface Review {
  point: string;
  options: string[];
}

/** Streams a run; returns the event names, the custom events and the review it paused at, if any. */
async function streamRun(threadId: string, payload: Record<string, unknown>) {
  const events: string[] = [];
  const custom: unknown[] = [];
  for await (const chunk of client.runs.stream(threadId, "parallel_workflow", {
    streamMode: ["values", "updates", "custom"],
    ...payload,
  })) {
    events.push(chunk.event);
    if (chunk.event === "custom") custom.push(chunk.data);
    if (chunk.event === "error") throw new Error(JSON.stringify(chunk.data));
  }
  const state = await client.threads.getState(threadId);
  const review = state.tasks.flatMap((task) => task.interrupts)[0]?.value as Review | undefined;
  return { events, custom, review, state };
}

const approve = { command: { resume: { action: "approve", reviewer: "ada" } } };

describe("assistants", () => {
  it("serves one assistant per graph, its schemas, its graph, and assistants made, versioned and deleted", async () => {
    const found = await client.assistants.search({ limit: 10 });
    expect(found.map((a) => a.graph_id).sort()).toEqual(["dynamic_agents", "enterprise_workflow", "parallel_workflow"]);
    const system = await client.assistants.get("parallel_workflow");
    expect(system.graph_id).toBe("parallel_workflow");
    const schemas = await client.assistants.getSchemas(system.assistant_id);
    expect(schemas.input_schema).toMatchObject({ type: "object" });
    expect(Object.keys((schemas.config_schema as { properties: object }).properties)).toContain("review");
    const drawn = (await client.assistants.getGraph(system.assistant_id, { xray: true })) as {
      nodes: { id: string }[];
    };
    expect(drawn.nodes.map((n) => n.id)).toContain("sync_point_manager");

    const made = await client.assistants.create({
      graphId: "parallel_workflow",
      name: "strict",
      context: { qualityThreshold: 0.9 },
    });
    const updated = await client.assistants.update(made.assistant_id, { name: "stricter" });
    expect(updated).toMatchObject({ name: "stricter", version: 2 });
    expect((await client.assistants.getVersions(made.assistant_id)).map((v) => v.version)).toEqual([2, 1]);
    await client.assistants.delete(made.assistant_id);
    await expect(client.assistants.get(made.assistant_id)).rejects.toThrow(/404/);
  });

  it("goes back to a version with setLatest, and runs use the version that is current", async () => {
    const made = await client.assistants.create({
      graphId: "parallel_workflow",
      name: "unreviewed",
      context: { review: "never" },
      metadata: { team: "a" },
    });
    // Version 2 reviews, as the workflow does by default.
    await client.assistants.update(made.assistant_id, { context: {}, metadata: { team: "b" } });
    expect(
      (await client.assistants.getVersions(made.assistant_id, { metadata: { team: "a" } })).map((v) => v.version),
    ).toEqual([1]);
    expect((await client.assistants.getVersions(made.assistant_id, { limit: 1 })).map((v) => v.version)).toEqual([2]);
    expect((await client.assistants.getVersions(made.assistant_id, { offset: 1 })).map((v) => v.version)).toEqual([1]);

    expect(await client.assistants.setLatest(made.assistant_id, 1)).toMatchObject({
      version: 1,
      context: { review: "never" },
      metadata: { team: "a" },
    });
    const first = await client.threads.create();
    const unreviewed = (await client.runs.wait(first.thread_id, made.assistant_id, { input: TASK })) as Record<
      string,
      unknown
    >;
    expect(unreviewed).toMatchObject({ status: "completed" });
    expect(unreviewed.__interrupt__).toBeUndefined();

    await client.assistants.setLatest(made.assistant_id, 2);
    const second = await client.threads.create();
    const reviewed = (await client.runs.wait(second.thread_id, made.assistant_id, { input: TASK })) as {
      __interrupt__?: { value: Review }[];
    };
    expect(reviewed.__interrupt__?.[0]?.value.point).toBe("sync_point_manager");

    // A change after going back is a version of its own, after all the others.
    await client.assistants.setLatest(made.assistant_id, 1);
    expect(await client.assistants.update(made.assistant_id, { name: "third" })).toMatchObject({
      version: 3,
      context: { review: "never" },
    });
    expect((await client.assistants.getVersions(made.assistant_id)).map((v) => v.version)).toEqual([3, 2, 1]);
    await expect(client.assistants.setLatest(made.assistant_id, 9)).rejects.toThrow(/has no version 9/);
  });
});

describe("threads and runs", () => {
  it("streams values, updates and custom events to a review, resumes on approve, and reports the end", async () => {
    const thread = await client.threads.create({ metadata: { owner: "ada" } });
    const first = await streamRun(thread.thread_id, { input: TASK });
    expect(first.events[0]).toBe("metadata");
    expect(new Set(first.events)).toEqual(new Set(["metadata", "values", "updates", "custom"]));
    expect(first.custom.length).toBeGreaterThan(0);
    expect(first.review).toMatchObject({ point: "sync_point_manager", options: ["approve", "reject", "feedback"] });
    expect((await client.threads.get(thread.thread_id)).status).toBe("interrupted");

    let review = (await streamRun(thread.thread_id, approve)).review;
    expect(review?.point).toBe("quality_validator");
    // wait: the run's final values, as the SDK's runs.wait returns them.
    const final = (await client.runs.wait(thread.thread_id, "parallel_workflow", approve)) as {
      status: string;
      finalReport: string;
    };
    review = undefined;
    expect(final.status).toBe("completed");
    expect(final.finalReport).toContain("# Workflow report");
    expect((await client.threads.get(thread.thread_id)).status).toBe("idle");
    expect((await client.threads.search({ metadata: { owner: "ada" } })).map((t) => t.thread_id)).toEqual([
      thread.thread_id,
    ]);

    const history = await client.threads.getHistory(thread.thread_id, { limit: 200 });
    expect(history[0]!.next).toEqual([]);
    expect(history.at(-1)!.metadata).toMatchObject({ source: "input", step: -1 });
    const runs = await client.runs.list(thread.thread_id);
    expect(runs.map((r) => r.status)).toEqual(["success", "success", "success"]);

    const copy = await client.threads.copy(thread.thread_id);
    expect(((await client.threads.getState(copy.thread_id)).values as { status: string }).status).toBe("completed");
    await client.threads.delete(copy.thread_id);
    await expect(client.threads.get(copy.thread_id)).rejects.toThrow(/404/);
  });

  it("ends a thread rejected on reject, and takes feedback", async () => {
    const rejected = await client.threads.create();
    await streamRun(rejected.thread_id, { input: TASK });
    await streamRun(rejected.thread_id, { command: { resume: { action: "reject", reviewer: "carol" } } });
    const values = (await client.threads.getState(rejected.thread_id)).values as {
      status: string;
      failureReason: string;
    };
    expect(values).toMatchObject({ status: "rejected", failureReason: "rejected by carol at sync_point_manager" });

    const revised = await client.threads.create();
    await streamRun(revised.thread_id, { input: TASK });
    const after = await streamRun(revised.thread_id, {
      command: { resume: { action: "feedback", feedback: "Cover costs", reviewer: "bo" } },
    });
    expect(after.review?.point).toBe("quality_validator");
    const decisions = (after.state.values as { reviewDecisions: { action: string }[] }).reviewDecisions;
    expect(decisions.map((d) => d.action)).toEqual(["feedback"]);
  });

  it("edits the state at a review point with asNode, refuses an edit without it, and forks from a checkpoint", async () => {
    const thread = await client.threads.create();
    const paused = await streamRun(thread.thread_id, { input: TASK });
    await expect(client.threads.updateState(thread.thread_id, { values: { revisionCount: 0 } })).rejects.toThrow(
      /422.*asNode/,
    );
    const branches = (paused.state.values as { completedBranches: Record<string, Record<string, unknown>> })
      .completedBranches;
    const [branchId, result] = Object.entries(branches)[0]!;
    const edited = await client.threads.updateState(thread.thread_id, {
      values: { completedBranches: { [branchId]: { ...result, edited: true } } },
      asNode: "research_branch_alpha",
    });
    // The server answers {checkpoint}, as @langchain/langgraph-api does; the SDK's type says configurable.
    const editedId = (edited as { checkpoint?: { checkpoint_id?: string } }).checkpoint?.checkpoint_id;
    expect(editedId).toBeTruthy();
    const state = await client.threads.getState(thread.thread_id);
    expect(
      (state.values as { completedBranches: Record<string, { edited?: boolean }> }).completedBranches[branchId]!.edited,
    ).toBe(true);

    // Fork: a run from the checkpoint before the edit continues from there, the edit absent.
    const before = paused.state.checkpoint.checkpoint_id!;
    const at = await client.threads.getState(thread.thread_id, before);
    expect(at.checkpoint.checkpoint_id).toBe(before);
    const forked = await streamRun(thread.thread_id, { ...approve, checkpointId: before });
    expect(forked.review?.point).toBe("quality_validator");
    expect(forked.state.parent_checkpoint?.checkpoint_id).not.toBe(editedId);
    const beforeAgain = await client.threads.getState(thread.thread_id, before);
    expect(beforeAgain.values).toEqual(at.values);
  });

  it("runs in the background: join, joinStream from a last event id, get, cancel to interrupted, resumable after", async () => {
    const thread = await client.threads.create();
    const run = await client.runs.create(thread.thread_id, "parallel_workflow", {
      input: TASK,
      streamMode: ["updates"],
    });
    expect(["pending", "running"]).toContain(run.status);
    const joined = (await client.runs.join(thread.thread_id, run.run_id)) as { status: string };
    expect(joined.status).toBe("interrupted");
    expect((await client.runs.get(thread.thread_id, run.run_id)).status).toBe("success");
    const all: string[] = [];
    for await (const chunk of client.runs.joinStream(thread.thread_id, run.run_id)) all.push(chunk.event);
    const rest: string[] = [];
    for await (const chunk of client.runs.joinStream(thread.thread_id, run.run_id, { lastEventId: "2" }))
      rest.push(chunk.event);
    expect(rest).toEqual(all.slice(2));

    const slow = await client.assistants.create({ graphId: "parallel_workflow", context: { review: "never" } });
    const other = await client.threads.create();
    const long = await client.runs.create(other.thread_id, slow.assistant_id, {
      input: { taskQueue: Array.from({ length: 40 }, (_, i) => ({ description: `Topic ${i}` })) },
    });
    // Cancel mid-run, once a step is saved: a run cancelled before it starts leaves nothing to resume.
    for (let polls = 0; (await client.threads.getState(other.thread_id)).next.length === 0; polls++) {
      if (polls > 300) throw new Error("the background run saved no step in 30 s");
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await client.runs.cancel(other.thread_id, long.run_id, true);
    expect((await client.runs.get(other.thread_id, long.run_id)).status).toBe("interrupted");
    const resumed = (await client.runs.wait(other.thread_id, slow.assistant_id, { input: null })) as { status: string };
    expect(resumed.status).toBe("completed");
  });

  it("serves a thread the CLI started, and the CLI resumes a thread the API started: one saver, one schema", async () => {
    const cli = compileWorkflow(db.checkpointer);
    const config = { configurable: { thread_id: `cli-${Date.now()}` } };
    await cli.invoke(TASK, config);
    const seen = await client.threads.get(config.configurable.thread_id);
    expect(seen.status).toBe("interrupted");
    const after = await streamRun(config.configurable.thread_id, approve);
    expect(after.review?.point).toBe("quality_validator");

    const api = await client.threads.create();
    await streamRun(api.thread_id, { input: TASK });
    const { Command } = await import("@langchain/langgraph");
    await cli.invoke(new Command({ resume: { action: "approve" } }), { configurable: { thread_id: api.thread_id } });
    const state = await client.threads.getState(api.thread_id);
    expect(state.next).toEqual(["quality_validator"]);
  });
});
