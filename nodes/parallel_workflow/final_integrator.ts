import type { IntegrationQualityMetrics, QualityInterval } from "../../state/shared/quality_metrics.js";
import { AIMessage } from "@langchain/core/messages";
import type { LangGraphRunnableConfig } from "@langchain/langgraph";
import { parseModelSpec } from "../../models/index.js";
import { settingsOf, type Synthesis, type WorkflowStateType, type WorkflowUpdate } from "../../state/parallel_workflow/workflow.js";
import { now } from "../../state/shared/time.js";
import { emitPhase } from "../../state/parallel_workflow/progress.js";

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

function synthesisSection(title: string, synthesis: Synthesis): string[] {
  if (synthesis.status === "no_data") return [`## ${title}`, "", synthesis.summary, ""];
  const attribution = Object.entries(synthesis.sourceAttribution)
    .sort(([, a], [, b]) => b - a)
    .map(([source, share]) => `| ${source} | ${pct(share)} |`);
  return [
    `## ${title}`,
    "",
    synthesis.summary,
    "",
    "### Findings",
    "",
    ...synthesis.primaryFindings.map((f) => `- ${f.statement}${f.sources.length ? ` _(${f.sources.join(", ")})_` : ""}`),
    "",
    "### Supporting evidence",
    "",
    ...synthesis.supportingEvidence.map((e) => `- ${e.evidence} _(${e.source})_`),
    "",
    "### Source attribution",
    "",
    "| Source | Weight |",
    "| --- | --- |",
    ...attribution,
    "",
    `Quality (weighted): ${synthesis.qualityScore.toFixed(3)}`,
    "",
  ];
}

function qualityMetricsLines(metrics: IntegrationQualityMetrics): string[] {
  const interval = (i: QualityInterval | null) => (i ? `${i.low.toFixed(3)}–${i.high.toFixed(3)} (${i.sources} sources)` : "no result");
  return [
    `Research quality ${metrics.researchQuality.toFixed(3)}, 95% interval ${interval(metrics.confidenceIntervals.research)}`,
    `Analysis quality ${metrics.analysisQuality.toFixed(3)}, 95% interval ${interval(metrics.confidenceIntervals.analysis)}`,
    `Integration confidence ${metrics.integrationConfidence.toFixed(3)}`,
    "",
  ];
}

/** The final report in markdown: what was found, from where, how good it is, and what is missing. */
export function renderReport(state: WorkflowStateType): string {
  const result = state.integrationResult!;
  const quality = state.qualityReport;
  const settings = settingsOf(state);
  const failures = result.integrationMetadata.failedBranches.map((id) => {
    const r = state.completedBranches[id];
    return `- ${id} (${r?.node ?? "?"}): ${r?.error ?? "failed"}`;
  });
  const missing = result.integrationMetadata.missingBranches.filter((id) => !result.integrationMetadata.failedBranches.includes(id));
  const lines = [
    `# Workflow report`,
    "",
    ...(parseModelSpec(settings.model).provider === "offline"
      ? ["> Produced by the offline model: deterministic text derived from the prompts, not an LLM's work.", ""]
      : []),
    "## Summary",
    "",
    ...state.taskQueue.map((t) => `- Task: ${t.description}`),
    `- Mode: ${state.workflowMode}, ${Object.keys(state.activeBranches).length} branches, ${result.integrationMetadata.successfulBranches} succeeded`,
    `- Quality score: ${quality ? quality.score.toFixed(3) : "n/a"} (threshold ${settings.qualityThreshold})`,
    `- Revisions: ${state.revisionCount}, retries: ${Object.values(state.retryCounts).reduce((a, b) => a + b, 0)}`,
    "",
    ...synthesisSection("Research", result.researchSynthesis),
    ...synthesisSection("Analysis", result.analysisSynthesis),
    "## Quality",
    "",
    ...(quality?.judge
      ? [
          "| Criterion | Score |",
          "| --- | --- |",
          ...(["coverage", "evidence", "consistency", "actionability"] as const).map(
            (k) => `| ${k} | ${quality.judge![k].toFixed(2)} |`,
          ),
          "",
          ...(quality.judge.issues.length ? ["Issues:", ...quality.judge.issues.map((i) => `- ${i}`), ""] : []),
        ]
      : []),
    `Score ${quality?.score.toFixed(3) ?? "n/a"}: ${quality?.reason ?? ""}`,
    "",
    ...(result.qualityMetrics ? qualityMetricsLines(result.qualityMetrics) : []),
    "## Missing or failed",
    "",
    ...(failures.length || missing.length
      ? [...failures, ...missing.map((id) => `- ${id}: no result`)]
      : ["Nothing: every branch succeeded."]),
    "",
  ];
  return lines.join("\n");
}

export async function finalIntegrator(state: WorkflowStateType, config: LangGraphRunnableConfig): Promise<WorkflowUpdate> {
  emitPhase(config, "final_integrator");
  const finalReport = renderReport(state);
  const completedAt = now();
  const startedAt = state.monitoringMetrics.startedAt as string | undefined;
  const results = Object.values(state.completedBranches);
  return {
    finalReport,
    status: "completed",
    monitoringMetrics: {
      completedAt,
      durationSeconds: startedAt ? (Date.parse(completedAt) - Date.parse(startedAt)) / 1000 : undefined,
      branches: Object.keys(state.activeBranches).length,
      succeededBranches: state.integrationResult?.integrationMetadata.successfulBranches ?? 0,
      branchModelCalls: results.reduce((sum, r) => sum + r.modelCalls, 0),
      retries: Object.values(state.retryCounts).reduce((a, b) => a + b, 0),
      revisions: state.revisionCount,
      qualityScore: state.qualityReport?.score,
    },
    messages: [new AIMessage(finalReport)],
    executionTimeline: [
      {
        at: completedAt,
        event: "workflow_completed",
        node: "final_integrator",
        qualityScore: state.qualityReport?.score,
        reportChars: finalReport.length,
      },
    ],
  };
}
