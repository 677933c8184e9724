import { describe, expect, it } from "vitest";
import { AIMessage } from "@langchain/core/messages";
import { finalIntegrator, renderReport } from "../../nodes/parallel_workflow/final_integrator.js";
import type { QualityReport, Synthesis, WorkflowStateType } from "../../state/parallel_workflow/workflow.js";
import { allocation, byId, integration, makeState, noData, result, SETTINGS, plain } from "../support/fixtures.js";

const research: Synthesis = {
  status: "merged",
  summary: "Postgres with pgvector covers the need.",
  primaryFindings: [
    { statement: "pgvector handles 10M vectors on one node", sources: ["b1-research-technical", "b2-research-market"] },
    { statement: "Unattributed statement", sources: [] },
  ],
  supportingEvidence: [{ evidence: "benchmark at 12 ms p95", source: "b1-research-technical" }],
  // 0.83 / 1.4 and 0.57 / 1.4
  sourceAttribution: { "b2-research-market": 0.4071428571428571, "b1-research-technical": 0.5928571428571429 },
  qualityScore: 0.7778571428571428,
  sourcesCount: 2,
  totalWeight: 1.4,
};

const quality: QualityReport = {
  score: 0.815,
  threshold: 0.8,
  judge: { coverage: 0.9, evidence: 0.8, consistency: 0.7, actionability: 0.6, issues: ["Name the vendors."] },
  judgeScore: 0.75,
  mergeQuality: 0.8,
  successRate: 0.5,
  route: "quality_approved",
  reason: "score 0.815 ≥ threshold 0.8",
  revision: 1,
  at: "2025-01-01T00:00:00.000Z",
};

function reportState(overrides: Partial<WorkflowStateType> = {}): WorkflowStateType {
  return makeState({
    taskQueue: [{ description: "Choose a vector store" }, { description: "Estimate its cost" }],
    workflowMode: "adaptive",
    activeBranches: byId(
      allocation("b1-research-technical", 0),
      allocation("b2-research-market", 1),
      allocation("b3-research-competitive", 2),
      allocation("b4-analysis-high", 3),
    ),
    completedBranches: byId(
      result("b1-research-technical"),
      result("b2-research-market"),
      result("b3-research-competitive", {
        status: "failed",
        node: "research_branch_gamma",
        error: "timed out after 150 ms",
      }),
    ),
    integrationResult: {
      ...integration({
        successfulBranches: 2,
        failedBranches: ["b3-research-competitive"],
        missingBranches: ["b3-research-competitive", "b4-analysis-high"],
        overallQualityScore: 0.7778571428571428,
      }),
      researchSynthesis: research,
      analysisSynthesis: noData("analysis"),
    },
    qualityReport: quality,
    revisionCount: 1,
    retryCounts: { "b3-research-competitive": 2, "b1-research-technical": 1 },
    settings: { ...SETTINGS, model: "offline" },
    ...overrides,
  });
}

describe("renderReport", () => {
  const report = renderReport(reportState());
  const sections = report.split("\n").filter((line) => /^##? /.test(line));

  it("has the sections in order: Summary, Research, Analysis, Quality, Missing or failed", () => {
    expect(sections).toEqual([
      "# Workflow report",
      "## Summary",
      "## Research",
      "## Analysis",
      "## Quality",
      "## Missing or failed",
    ]);
  });

  it("summarises the tasks, the mode, the branches, the score and the counters", () => {
    expect(report).toContain("- Task: Choose a vector store\n- Task: Estimate its cost");
    expect(report).toContain("- Mode: adaptive, 4 branches, 2 succeeded");
    expect(report).toContain("- Quality score: 0.815 (threshold 0.8)");
    // retries 2 + 1 = 3
    expect(report).toContain("- Revisions: 1, retries: 3");
  });

  it("lists the findings with their sources and a source attribution table, heaviest first", () => {
    expect(report).toContain(
      "- pgvector handles 10M vectors on one node _(b1-research-technical, b2-research-market)_",
    );
    expect(report).toContain("- Unattributed statement\n");
    expect(report).toContain("- benchmark at 12 ms p95 _(b1-research-technical)_");
    // 0.592857 → 59.3%, 0.407142 → 40.7%
    expect(report).toContain(
      "| Source | Weight |\n| --- | --- |\n| b1-research-technical | 59.3% |\n| b2-research-market | 40.7% |",
    );
    expect(report).toContain("Quality (weighted): 0.778");
  });

  it("says when a kind of branch produced nothing", () => {
    expect(report).toContain("## Analysis\n\nNo analysis branch succeeded.");
  });

  it("shows the judge's rubric and issues", () => {
    expect(report).toContain("| coverage | 0.90 |");
    expect(report).toContain("| actionability | 0.60 |");
    expect(report).toContain("Issues:\n- Name the vendors.");
    expect(report).toContain("Score 0.815: score 0.815 ≥ threshold 0.8");
  });

  it("lists failed branches with their node and error, and missing ones without a result", () => {
    const missing = report.slice(report.indexOf("## Missing or failed"));
    expect(missing).toContain("- b3-research-competitive (research_branch_gamma): timed out after 150 ms");
    expect(missing).toContain("- b4-analysis-high: no result");
    // a failed branch is listed once, not again as missing
    expect(missing.match(/b3-research-competitive/g)).toHaveLength(1);
  });

  it("says nothing is missing when every branch succeeded", () => {
    const clean = renderReport(
      reportState({
        integrationResult: {
          ...reportState().integrationResult!,
          integrationMetadata: {
            ...reportState().integrationResult!.integrationMetadata,
            failedBranches: [],
            missingBranches: [],
          },
        },
      }),
    );
    expect(clean).toContain("## Missing or failed\n\nNothing: every branch succeeded.");
  });

  it("carries the offline-model note when the model is 'offline', and not otherwise", () => {
    expect(report).toMatch(/offline model/i);
    expect(report.indexOf("offline model")).toBeLessThan(report.indexOf("## Summary"));
    const online = renderReport(reportState({ settings: { ...SETTINGS, model: "openai:gpt-4o-mini" } }));
    expect(online).not.toMatch(/offline model/i);
    expect(online).toContain("## Summary");
  });

  it("shows n/a without a quality report", () => {
    expect(renderReport(reportState({ qualityReport: undefined }))).toContain("- Quality score: n/a (threshold 0.8)");
  });
});

describe("finalIntegrator", () => {
  it("writes the report, completes the run and records the final metrics and a timeline event", async () => {
    const state = reportState({ monitoringMetrics: { startedAt: "2025-01-01T00:00:00.000Z" } });
    const update = await plain(finalIntegrator(state, {}));
    expect(update.finalReport).toBe(renderReport(state));
    expect(update.status).toBe("completed");
    expect(update.monitoringMetrics).toMatchObject({
      branches: 4,
      succeededBranches: 2,
      branchModelCalls: 3,
      retries: 3,
      revisions: 1,
      qualityScore: 0.815,
    });
    expect(update.monitoringMetrics!.durationSeconds).toBeGreaterThan(0);
    expect(update.messages).toEqual([expect.any(AIMessage)]);
    expect(update.executionTimeline).toEqual([
      expect.objectContaining({ event: "workflow_completed", node: "final_integrator", qualityScore: 0.815 }),
    ]);
  });
});
