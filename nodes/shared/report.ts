import type { IntegrationQualityMetrics, QualityInterval } from "../../state/shared/quality_metrics.js";
import { AIMessage } from "@langchain/core/messages";
import { parseModelSpec } from "../../models/index.js";
import type { Citation } from "../../state/shared/citations.js";
import type { IntegrationResult, QualityReport, Synthesis } from "../../state/shared/merge.js";
import { now } from "../../state/shared/time.js";

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

/** A source the report cites: its number in the References section and the spans quoted from it, by location. */
export interface Reference {
  number: number;
  sourceId: string;
  title: string;
  quotes: { location: string; quote: string }[];
}

/**
 * The sources the merged findings and evidence cite, numbered in order of first citation
 * (research before analysis, findings before evidence), each with every distinct span quoted.
 */
export function referencesOf(result: IntegrationResult): Map<string, Reference> {
  const references = new Map<string, Reference>();
  const citations = [result.researchSynthesis, result.analysisSynthesis].flatMap((s) => [
    ...s.primaryFindings.flatMap((f) => f.citations ?? []),
    ...s.supportingEvidence.flatMap((e) => e.citations ?? []),
  ]);
  for (const { sourceId, title, location, quote } of citations) {
    const reference = references.get(sourceId) ?? { number: references.size + 1, sourceId, title, quotes: [] };
    if (!reference.quotes.some((q) => q.location === location && q.quote === quote))
      reference.quotes.push({ location, quote });
    references.set(sourceId, reference);
  }
  return references;
}

/** The inline cite of an item: its sources' numbers, e.g. " [1][3]"; nothing for an item that cites none. */
const citeOf = (citations: readonly Citation[] | undefined, references: Map<string, Reference>) =>
  citations?.length ? ` ${citations.map((c) => `[${references.get(c.sourceId)!.number}]`).join("")}` : "";

function referencesSection(references: Map<string, Reference>): string[] {
  if (!references.size) return [];
  return [
    "## References",
    "",
    ...[...references.values()].flatMap((r) => [
      `${r.number}. ${r.title} (${r.sourceId})`,
      // A quote spanning lines stays on its list item.
      ...r.quotes.map((q) => `   - ${q.location}: "${q.quote.replace(/\s+/g, " ")}"`),
    ]),
    "",
  ];
}

function synthesisSection(title: string, synthesis: Synthesis, references: Map<string, Reference>): string[] {
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
    ...synthesis.primaryFindings.map(
      (f) =>
        `- ${f.statement}${f.sources.length ? ` _(${f.sources.join(", ")})_` : ""}${citeOf(f.citations, references)}`,
    ),
    "",
    "### Supporting evidence",
    "",
    ...synthesis.supportingEvidence.map((e) => `- ${e.evidence} _(${e.source})_${citeOf(e.citations, references)}`),
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
  const interval = (i: QualityInterval | null) =>
    i ? `${i.low.toFixed(3)}–${i.high.toFixed(3)} (${i.sources} sources)` : "no result";
  return [
    `Research quality ${metrics.researchQuality.toFixed(3)}, 95% interval ${interval(metrics.confidenceIntervals.research)}`,
    `Analysis quality ${metrics.analysisQuality.toFixed(3)}, 95% interval ${interval(metrics.confidenceIntervals.analysis)}`,
    `Integration confidence ${metrics.integrationConfidence.toFixed(3)}`,
    "",
  ];
}

/** What the final report is written from: the merge, the gate's verdict and how the run went. */
export interface ReportInput {
  integrationResult: IntegrationResult;
  qualityReport: QualityReport | undefined;
  taskQueue: readonly { description: string }[];
  settings: { model: string; qualityThreshold: number };
  /** How the work was run, e.g. "parallel": the report's Mode line. */
  mode: string;
  /** Every planned branch's last result, by id: where a failure's node and error come from. */
  results: Readonly<Record<string, { node?: string; error?: string }>>;
  branches: number;
  revisionCount: number;
  retries: number;
}

/** The final report in markdown: what was found, from where, how good it is, and what is missing. */
export function renderFinalReport(input: ReportInput): string {
  const result = input.integrationResult;
  const quality = input.qualityReport;
  const { settings } = input;
  const failures = result.integrationMetadata.failedBranches.map((id) => {
    const r = input.results[id];
    return `- ${id} (${r?.node ?? "?"}): ${r?.error ?? "failed"}`;
  });
  const missing = result.integrationMetadata.missingBranches.filter(
    (id) => !result.integrationMetadata.failedBranches.includes(id),
  );
  const references = referencesOf(result);
  const lines = [
    `# Workflow report`,
    "",
    ...(parseModelSpec(settings.model).provider === "offline"
      ? ["> Produced by the offline model: deterministic text derived from the prompts, not an LLM's work.", ""]
      : []),
    "## Summary",
    "",
    ...input.taskQueue.map((t) => `- Task: ${t.description}`),
    `- Mode: ${input.mode}, ${input.branches} branches, ${result.integrationMetadata.successfulBranches} succeeded`,
    `- Quality score: ${quality ? quality.score.toFixed(3) : "n/a"} (threshold ${settings.qualityThreshold})`,
    `- Revisions: ${input.revisionCount}, retries: ${input.retries}`,
    "",
    ...synthesisSection("Research", result.researchSynthesis, references),
    ...synthesisSection("Analysis", result.analysisSynthesis, references),
    ...referencesSection(references),
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

/**
 * The final_integrator step: the report, as the run's last message too, and the run's closing
 * figures. `startedAt` is when the run began; `modelCalls` the branches' model calls.
 */
export function integrateFinalReport(input: ReportInput & { startedAt: string | undefined; modelCalls: number }) {
  const finalReport = renderFinalReport(input);
  const completedAt = now();
  return {
    finalReport,
    status: "completed" as const,
    monitoringMetrics: {
      completedAt,
      durationSeconds: input.startedAt ? (Date.parse(completedAt) - Date.parse(input.startedAt)) / 1000 : undefined,
      branches: input.branches,
      succeededBranches: input.integrationResult.integrationMetadata.successfulBranches,
      branchModelCalls: input.modelCalls,
      retries: input.retries,
      revisions: input.revisionCount,
      qualityScore: input.qualityReport?.score,
    },
    messages: [new AIMessage(finalReport)],
    executionTimeline: [
      {
        at: completedAt,
        event: "workflow_completed" as const,
        node: "final_integrator" as const,
        qualityScore: input.qualityReport?.score,
        reportChars: finalReport.length,
      },
    ],
  };
}
