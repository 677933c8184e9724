import { Client, type ThreadState } from "@langchain/langgraph-sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ReviewRequest } from "../state/parallel_workflow/workflow.js";
import type { WorkflowStateType } from "../state/parallel_workflow/workflow.js";
import { startLangGraphServer, type LangGraphServer } from "./support/langgraph_server.js";

// Time travel through the LangGraph API server, as an SDK client or Studio does it: a run
// given a checkpoint_id forks the thread there.

let server: LangGraphServer;
let client: Client;

beforeAll(async () => {
  server = await startLangGraphServer();
  client = new Client({ apiUrl: server.url });
});
afterAll(() => server?.stop());

const ASSISTANT = "parallel_workflow";

/** Streams a run; returns the review it paused at, if it did. */
async function run(threadId: string, payload: Record<string, unknown>): Promise<ReviewRequest | undefined> {
  let review: ReviewRequest | undefined;
  for await (const chunk of client.runs.stream(threadId, ASSISTANT, { ...payload, streamMode: "updates" })) {
    if (chunk.event === "error") throw new Error(`run failed: ${JSON.stringify(chunk.data)}`);
    if (chunk.event !== "updates") continue;
    const interrupt = (chunk.data as Record<string, unknown>).__interrupt__ as { value: ReviewRequest }[] | undefined;
    if (interrupt) review = interrupt[0]!.value;
  }
  return review;
}

const approve = { command: { resume: { action: "approve", reviewer: "ada" } } };

/**
 * The dev server (langgraph-api 2.0.0) keeps a run's checkpoint_id in the thread's config, so
 * after a fork a plain resume would fork again from the same checkpoint: a resume names the
 * head checkpoint, as Studio's do.
 */
async function approveAtHead(threadId: string) {
  const head = await client.threads.getState(threadId);
  return run(threadId, { ...approve, checkpointId: head.checkpoint.checkpoint_id });
}

async function history(threadId: string): Promise<ThreadState<WorkflowStateType>[]> {
  return client.threads.getHistory<WorkflowStateType>(threadId, { limit: 1000 });
}

describe("forking through the API", () => {
  it("runs on from a checkpoint_id twice; each fork starts from the checkpoint as it was, and the thread follows the last", async () => {
    const { thread_id: threadId } = await client.threads.create();
    expect(
      (await run(threadId, { input: { task: "Choose a message broker" }, context: { review: "always" } }))?.point,
    ).toBe("sync_point_manager");
    expect((await run(threadId, approve))?.point).toBe("quality_validator");
    expect(await run(threadId, approve)).toBeUndefined();
    expect((await client.threads.getState<WorkflowStateType>(threadId)).values.status).toBe("completed");

    const original = await history(threadId);
    const wave = original.find((state) => state.next.includes("analysis_branch_primary"))!;
    const waveId = wave.checkpoint.checkpoint_id!;

    // First fork: paused at the sync point again, then approved through to a report.
    expect((await run(threadId, { checkpointId: waveId }))?.point).toBe("sync_point_manager");
    expect((await approveAtHead(threadId))?.point).toBe("quality_validator");
    expect(await approveAtHead(threadId)).toBeUndefined();
    const firstFork = await client.threads.getState<WorkflowStateType>(threadId);
    expect(firstFork.values.status).toBe("completed");
    expect(firstFork.values.reviewDecisions.map((d) => d.point)).toEqual(["sync_point_manager", "quality_validator"]);

    // Second fork: none of the first fork's answers carry over; it asks at the sync point.
    expect((await run(threadId, { checkpointId: waveId }))?.point).toBe("sync_point_manager");
    const head = await client.threads.getState<WorkflowStateType>(threadId);
    expect(head.next).toEqual(["sync_point_manager"]);
    expect(head.values.reviewDecisions).toEqual([]);
    expect(head.values.finalReport).toBeUndefined();
    expect(Object.keys(head.values.completedBranches)).toHaveLength(5);

    // The checkpoint forked from reads as before, and both forks hang off it.
    const after = await history(threadId);
    const source = await client.threads.getState<WorkflowStateType>(threadId, waveId);
    expect({ values: source.values, next: source.next }).toEqual({ values: wave.values, next: wave.next });
    const children = after.filter((state) => state.parent_checkpoint?.checkpoint_id === waveId);
    expect(children.length).toBe(3);
    for (const state of original)
      expect(after.map((s) => s.checkpoint.checkpoint_id)).toContain(state.checkpoint.checkpoint_id);
    // Every fork's first steps ran the analysis wave from the checkpoint, as the original did.
    const completions = after.filter((state) => state.values.status === "completed" && state.next.length === 0);
    expect(completions).toHaveLength(2);
  });
});
