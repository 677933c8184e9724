import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { openCheckpointer, type Checkpointer } from "../../checkpoints/index.js";
import { compileWorkflow } from "../../graphs/parallel_workflow.js";
import { offlineCallCounts, resetOfflineCallCounts } from "../../models/offline/model.js";
import type { FaultPlan } from "../../models/offline/runtime.js";
import { resumeRun } from "../../scripts/parallel_workflow/runner.js";
import {
  BRANCH_NODES,
  eventsOf,
  type TimelineEventKind,
  type WorkflowStateType,
} from "../../state/parallel_workflow/workflow.js";
import { createTestSchema, type TestSchema } from "../support/database.js";
import { startOpenAIServer, type Fault, type OpenAIServer } from "../support/openai_server.js";
import { BRANCH_NODE_OF } from "../support/fixtures.js";
import { scenario, type Figures } from "./tally.js";

// Model faults, from the offline model's fault plan and from an OpenAI-protocol server.
//
// Transient errors are retried in one layer, the model client's: ChatOpenAI's retries (two, with
// exponential backoff from one second, honouring retry-after, never retrying a 4xx other than
// 429). What gets past them reaches the workflow as a failed call: a branch fails on its own and
// the sync rules take over (proceed at 75%, or re-queue it within maxRetries); outside the
// branches, the run fails and keeps every step saved for a resume. branchTimeoutMs cuts off any
// model call that hangs, in a branch or not. The offline model has no
// transport, so its fault plan injects errors as the workflow sees them after the client.

const TASK = "Evaluate adopting a managed vector database for a 10M-document semantic search service";
type BranchId = keyof typeof BRANCH_NODE_OF;
const BRANCH_IDS = Object.keys(BRANCH_NODE_OF) as BranchId[];

let db: TestSchema;
let opened: Checkpointer;
let workflow: ReturnType<typeof compileWorkflow>;
let server: OpenAIServer;
let threadCount = 0;

beforeAll(async () => {
  db = await createTestSchema();
  opened = await openCheckpointer({ databaseUrl: db.databaseUrl, schema: db.schema });
  workflow = compileWorkflow(opened.checkpointer);
  server = await startOpenAIServer();
});
afterAll(async () => {
  await server?.close();
  await opened?.close();
  await db?.cleanup();
});
beforeEach(() => {
  resetOfflineCallCounts();
  server.requests.length = 0;
  server.faults.length = 0;
});
afterEach(() => {
  vi.unstubAllEnvs();
});

function config(configurable: Record<string, unknown> = {}) {
  return { configurable: { thread_id: `model-fault-${++threadCount}`, review: "never", ...configurable } };
}

const events = <K extends TimelineEventKind>(state: WorkflowStateType, kind: K) =>
  eventsOf(state.executionTimeline, kind);

/**
 * The figures of a run: successful branches missing from the merge (lost), and extra calls for
 * branches nothing was injected into (needless).
 */
function lossAndReruns(final: WorkflowStateType, callsPerBranch: Record<string, number>, faulted: string[]) {
  const merged = {
    ...final.integrationResult!.researchSynthesis.sourceAttribution,
    ...final.integrationResult!.analysisSynthesis.sourceAttribution,
  };
  const lost = Object.values(final.completedBranches).filter((r) => r.status === "success" && !(r.branchId in merged));
  const needless = BRANCH_IDS.filter((id) => !faulted.includes(id)).reduce(
    (n, id) => n + (callsPerBranch[id] ?? 0) - 1,
    0,
  );
  return { lost: lost.length, needless };
}

/** What a run met and what came of it, into the scenario's figures before it asserts anything. */
function measure(
  tally: Figures,
  final: WorkflowStateType,
  faults: number,
  losses?: { calls: Record<string, number>; faulted: string[] },
) {
  tally.faults = faults;
  tally.recovered = final.status === "completed" ? 1 : 0;
  if (losses) Object.assign(tally, lossAndReruns(final, losses.calls, losses.faulted));
}

/** Calls the stubbed offline fault plan failed or hung so far. */
function offlineFaultsMet(): number {
  const plan = JSON.parse(process.env.ORCHESTRA_OFFLINE_FAULTS ?? "{}") as FaultPlan;
  return Object.entries(plan).reduce((n, [node, fault]) => {
    const calls = offlineCallCounts()[node] ?? 0;
    return n + ("hang" in fault ? calls : "fail" in fault ? Math.min(calls, fault.fail) : 0);
  }, 0);
}

const expectNoLoss = (tally: Figures) =>
  expect({ lost: tally.lost, needless: tally.needless }).toEqual({ lost: 0, needless: 0 });

const offlineCallsPerBranch = () =>
  Object.fromEntries(BRANCH_IDS.map((id) => [id, offlineCallCounts()[BRANCH_NODE_OF[id]] ?? 0]));

describe("offline fault plan", () => {
  it("a branch that always fails fails alone, and the run proceeds at 80%", () =>
    scenario("model", "permanent branch failure (offline)", async (tally) => {
      vi.stubEnv("ORCHESTRA_OFFLINE_FAULTS", JSON.stringify({ research_branch_beta: { fail: 99 } }));
      const final = (await workflow.invoke({ task: TASK }, config())) as WorkflowStateType;
      measure(tally, final, offlineFaultsMet(), { calls: offlineCallsPerBranch(), faulted: ["b2-research-market"] });

      expect(final.status).toBe("completed");
      expect(final.synchronizationStatus).toMatchObject({ progress: 0.8, status: "waiting_final" });
      expect(events(final, "synchronization_checkpoint").at(-1)).toMatchObject({ action: "conditional_proceed" });
      expect(final.completedBranches["b2-research-market"]).toMatchObject({ status: "failed" });
      expect(final.retryCounts).toEqual({});
      expect(final.integrationResult!.integrationMetadata.missingBranches).toEqual(["b2-research-market"]);
      expect(final.mergePerformance!.successRate).toBe(0.8);
      expect(final.finalReport).toMatch(/b2-research-market \(research_branch_beta\): offline fault/);
      expectNoLoss(tally);
    }));

  it("two branches that fail once are re-queued by the sync rules, and all five succeed", () =>
    scenario("model", "branch failures re-queued by the sync rules (offline)", async (tally) => {
      vi.stubEnv(
        "ORCHESTRA_OFFLINE_FAULTS",
        JSON.stringify({ research_branch_alpha: { fail: 1 }, analysis_branch_primary: { fail: 1 } }),
      );
      const final = (await workflow.invoke({ task: TASK }, config())) as WorkflowStateType;
      measure(tally, final, offlineFaultsMet(), {
        calls: offlineCallsPerBranch(),
        faulted: ["b1-research-technical", "b4-analysis-high"],
      });

      expect(final.status).toBe("completed");
      expect(final.retryCounts).toEqual({ "b1-research-technical": 1, "b4-analysis-high": 1 });
      expect(events(final, "branch_requeued").map((e) => [e.branchId, e.strategy, e.backoffMs])).toEqual([
        ["b1-research-technical", "retry", 250],
        ["b4-analysis-high", "retry", 250],
      ]);
      expect(Object.values(final.completedBranches).every((r) => r.status === "success")).toBe(true);
      expect(final.synchronizationStatus).toMatchObject({ progress: 1, status: "completed" });
      expect(offlineCallCounts()).toMatchObject({ research_branch_alpha: 2, analysis_branch_primary: 2 });
      expectNoLoss(tally);
    }));

  it("stops re-queueing at maxRetries when every branch always fails, and ends failed with the reason", () =>
    scenario("model", "retry bound reached: every branch always fails (offline)", async (tally) => {
      vi.stubEnv(
        "ORCHESTRA_OFFLINE_FAULTS",
        JSON.stringify(Object.fromEntries(BRANCH_NODES.map((node) => [node, { fail: 1_000 }]))),
      );
      const maxRetries = 2;
      const cfg = config({ maxRetries });
      const final = (await workflow.invoke({ task: TASK }, cfg)) as WorkflowStateType;
      measure(tally, final, offlineFaultsMet());

      expect(final.status).toBe("failed");
      expect(final.failureReason).toBe("no branch succeeded");
      expect(Object.values(final.retryCounts)).toEqual(Array(5).fill(maxRetries));
      // Retry, then reassign to another node: each branch ran 1 + maxRetries times in all.
      const branchCalls = BRANCH_NODES.reduce((sum, node) => sum + (offlineCallCounts()[node] ?? 0), 0);
      expect(branchCalls).toBe(5 * (1 + maxRetries));
      expect(events(final, "branch_requeued").map((e) => e.strategy)).toEqual([
        ...Array(5).fill("retry"),
        ...Array(5).fill("reassign"),
      ]);
      expect((await workflow.getState(cfg)).next).toEqual([]);
    }));

  it("stops revising at maxRevisions when the quality bar is out of reach", () =>
    scenario("model", "revision bound reached (offline)", async (tally) => {
      const cfg = config({ qualityThreshold: 0.99, maxRevisions: 1 });
      const final = (await workflow.invoke({ task: TASK }, cfg)) as WorkflowStateType;
      measure(tally, final, 0);

      expect(final.status).toBe("failed");
      expect(final.revisionCount).toBe(1);
      expect(events(final, "quality_validated").map((e) => e.route)).toEqual(["needs_revision", "critical_failure"]);
      expect(final.failureReason).toMatch(/still below threshold 0.99 after the last revision/);
      expect((await workflow.getState(cfg)).next).toEqual([]);
    }));

  it("cuts off a branch whose model call hangs at the branch timeout, and the run goes on", () =>
    scenario("model", "hanging call cut off by the branch timeout (offline)", async (tally) => {
      vi.stubEnv("ORCHESTRA_OFFLINE_FAULTS", JSON.stringify({ analysis_branch_secondary: { hang: true } }));
      const final = (await workflow.invoke({ task: TASK }, config({ branchTimeoutMs: 300 }))) as WorkflowStateType;
      measure(tally, final, offlineFaultsMet(), { calls: offlineCallsPerBranch(), faulted: ["b5-analysis-normal"] });

      expect(final.status).toBe("completed");
      expect(final.completedBranches["b5-analysis-normal"]).toMatchObject({
        status: "failed",
        timedOut: true,
        error: "timed out after 300 ms",
      });
      expectNoLoss(tally);
    }));

  it("cuts off a hanging call outside the branches at the same timeout: the run fails, and a resume finishes it", () =>
    scenario("model", "hanging call outside the branches cut off, resume finishes (offline)", async (tally) => {
      vi.stubEnv("ORCHESTRA_OFFLINE_FAULTS", JSON.stringify({ quality_validator: { hang: true } }));
      const cfg = config({ branchTimeoutMs: 300 });
      await expect(workflow.invoke({ task: TASK }, cfg)).rejects.toThrow(
        "quality_validator: the model did not answer within 300 ms (branchTimeoutMs)",
      );

      const faults = (tally.faults = offlineFaultsMet());
      vi.stubEnv("ORCHESTRA_OFFLINE_FAULTS", undefined);
      expect((await resumeRun(workflow, opened, { threadId: cfg.configurable.thread_id })).status).toBe("completed");
      const final = (await workflow.getState(cfg)).values as WorkflowStateType;
      measure(tally, final, faults, { calls: offlineCallsPerBranch(), faulted: [] });
      expectNoLoss(tally);
      expect(offlineCallCounts().quality_validator).toBe(2);
    }));

  it("a failure outside the branches fails the run, keeps every branch result, and a resume finishes it", () =>
    scenario("model", "merge fails, resume finishes (offline)", async (tally) => {
      vi.stubEnv("ORCHESTRA_OFFLINE_FAULTS", JSON.stringify({ branch_merger: { fail: 1_000 } }));
      const cfg = config();
      await expect(workflow.invoke({ task: TASK }, cfg)).rejects.toThrow(/offline fault: branch_merger/);
      const saved = ((await workflow.getState(cfg)).values as WorkflowStateType).completedBranches;
      expect(Object.keys(saved)).toHaveLength(5);

      const faults = (tally.faults = offlineFaultsMet());
      vi.stubEnv("ORCHESTRA_OFFLINE_FAULTS", undefined);
      const outcome = await resumeRun(workflow, opened, { threadId: cfg.configurable.thread_id });
      expect(outcome.status).toBe("completed");
      const final = (await workflow.getState(cfg)).values as WorkflowStateType;
      measure(tally, final, faults, { calls: offlineCallsPerBranch(), faulted: [] });
      const lost = Object.values(saved).filter(
        (r) => final.completedBranches[r.branchId]?.completedAt !== r.completedAt,
      );
      tally.lost = Math.max(tally.lost, lost.length);
      expect(lost).toEqual([]);
      expectNoLoss(tally);
    }));
});

describe("OpenAI-protocol server faults", () => {
  beforeEach(() => {
    vi.stubEnv("OPENAI_API_KEY", "sk-test-model-faults");
    vi.stubEnv("OPENAI_BASE_URL", server.url);
  });

  const openai = () => config({ model: "openai:gpt-4o-mini" });
  const branchOf = (body: unknown) => /Branch (b\d-[a-z-]+) \(attempt/.exec(JSON.stringify(body))?.[1];
  const requestsPerBranch = () => {
    const counts: Record<string, number> = {};
    for (const request of server.requests) {
      const id = branchOf(request.body);
      if (id) counts[id] = (counts[id] ?? 0) + 1;
    }
    return counts;
  };
  const servedFaults = () => server.requests.filter((r) => r.fault).length;
  const forBranch = (id: BranchId, fault: Fault): Fault => ({ ...fault, match: `Branch ${id} (attempt` });

  it("retries a 429 with retry-after, a 500, malformed JSON and a connection reset in the client: no branch fails", () =>
    scenario("model", "transient 429/500/malformed/reset retried by the client (OpenAI)", async (tally) => {
      server.faults.push(
        forBranch("b1-research-technical", { kind: "status", status: 429, retryAfterSeconds: 1 }),
        forBranch("b2-research-market", { kind: "status", status: 500 }),
        forBranch("b3-research-competitive", { kind: "malformed" }),
        forBranch("b4-analysis-high", { kind: "reset" }),
      );
      const final = (await workflow.invoke({ task: TASK }, openai())) as WorkflowStateType;
      measure(tally, final, servedFaults(), { calls: requestsPerBranch(), faulted: BRANCH_IDS.slice(0, 4) });

      expect(final.status).toBe("completed");
      expect(server.faults).toEqual([]);
      // A record: the order its keys come back in is not part of the state.
      expect(
        BRANCH_IDS.map((id) => final.completedBranches[id]).map((r) => [r?.branchId, r?.status, r?.attempt]),
      ).toEqual(BRANCH_IDS.map((id) => [id, "success", 1]));
      // The client retried each faulted call once; the workflow saw no failure to re-queue.
      expect(requestsPerBranch()).toEqual({
        "b1-research-technical": 2,
        "b2-research-market": 2,
        "b3-research-competitive": 2,
        "b4-analysis-high": 2,
        "b5-analysis-normal": 1,
      });
      expect(final.retryCounts).toEqual({});
      // The rate-limited call waited at least the retry-after it was given.
      const limited = server.requests.filter((r) => branchOf(r.body) === "b1-research-technical");
      expect(limited[1]!.at - limited[0]!.at).toBeGreaterThanOrEqual(1000);
      expectNoLoss(tally);
    }));

  it("does not retry a permanent 400: that branch fails alone, and the run proceeds", () =>
    scenario("model", "permanent 400 fails one branch (OpenAI)", async (tally) => {
      server.faults.push(
        forBranch("b2-research-market", { kind: "status", status: 400, message: "unsupported parameter" }),
      );
      const final = (await workflow.invoke({ task: TASK }, openai())) as WorkflowStateType;
      measure(tally, final, servedFaults(), { calls: requestsPerBranch(), faulted: ["b2-research-market"] });

      expect(final.status).toBe("completed");
      expect(requestsPerBranch()["b2-research-market"]).toBe(1);
      expect(final.completedBranches["b2-research-market"]).toMatchObject({ status: "failed" });
      expect(final.completedBranches["b2-research-market"]!.error).toMatch(/400/);
      expect(events(final, "synchronization_checkpoint").at(-1)).toMatchObject({ action: "conditional_proceed" });
      expectNoLoss(tally);
    }));

  it("gives up after the client's two retries of a call that keeps failing: the branch fails, the run proceeds", () =>
    scenario("model", "client retry bound reached (OpenAI)", async (tally) => {
      const alwaysDown = forBranch("b3-research-competitive", { kind: "status", status: 503 });
      server.faults.push(alwaysDown, alwaysDown, alwaysDown, alwaysDown);
      const final = (await workflow.invoke({ task: TASK }, openai())) as WorkflowStateType;
      measure(tally, final, servedFaults(), { calls: requestsPerBranch(), faulted: ["b3-research-competitive"] });

      expect(final.status).toBe("completed");
      // One attempt and two retries, then the bound: the fourth scripted 503 is never asked for.
      expect(requestsPerBranch()["b3-research-competitive"]).toBe(3);
      expect(server.faults).toHaveLength(1);
      expect(final.completedBranches["b3-research-competitive"]).toMatchObject({ status: "failed" });
      expectNoLoss(tally);
    }));
});
