import { HumanMessage, SystemMessage } from "@langchain/core/messages";
import type { LangGraphRunnableConfig } from "@langchain/langgraph";
import { callWithDeadline } from "../../models/deadline.js";
import { createChatModel } from "../../models/index.js";
import {
  MERGE_SYNTHESIS,
  MergeSynthesisSchema,
  type BranchOutcome,
  type IntegrationResult,
  type MergePerformance,
  type Synthesis,
} from "../../state/shared/merge.js";
import { citedSources, mentions, type Citation, type CitedFinding } from "../../state/shared/citations.js";
import type { Finding } from "../../state/shared/findings.js";
import { integrationQualityMetrics } from "../../state/shared/quality_metrics.js";
import { now } from "../../state/shared/time.js";
import type { SharedStepEventOf } from "../../state/shared/timeline.js";
import { MERGE_SYSTEM_PROMPT, synthesisPrompt, type SynthesisBlock } from "./prompts.js";

export interface WeightedResult {
  source: string;
  result: BranchOutcome;
  quality: number;
  weight: number;
}

/** A branch's weight in the merge: docs/design.md (Merge weights). */
export function branchWeight(quality: number, seconds: number): number {
  return 0.7 * quality + 0.3 * (1 / (1 + seconds / 60));
}

export function weighResults(results: readonly BranchOutcome[]): WeightedResult[] {
  return results.map((result) => ({
    source: result.branchId,
    result,
    quality: result.performance.dataQualityScore,
    weight: branchWeight(result.performance.dataQualityScore, result.performance.executionTime),
  }));
}

/** Source attribution (weights normalised) and the weighted-average quality. */
export function attribute(weighted: WeightedResult[]) {
  const totalWeight = weighted.reduce((sum, w) => sum + w.weight, 0);
  if (totalWeight === 0) return { sourceAttribution: {}, qualityScore: 0, totalWeight: 0 };
  return {
    sourceAttribution: Object.fromEntries(weighted.map((w) => [w.source, w.weight / totalWeight])),
    qualityScore: weighted.reduce((sum, w) => sum + w.quality * w.weight, 0) / totalWeight,
    totalWeight,
  };
}

/**
 * Shares to two decimals: the speed term moves a weight by a few millionths between runs, and
 * that jitter must not reorder the sources or change the prompt, or a resumed run's synthesis
 * would differ from an uninterrupted one's.
 */
const share = (x: number) => x.toFixed(2);

/** The merge prompt's blocks: heaviest share first, ties by id. */
function synthesisBlocks(weighted: WeightedResult[], attribution: Record<string, number>): SynthesisBlock[] {
  return [...weighted]
    .sort(
      (a, b) =>
        Number(share(attribution[b.source]!)) - Number(share(attribution[a.source]!)) ||
        a.source.localeCompare(b.source),
    )
    .map((w) => ({
      source: w.source,
      share: share(attribution[w.source]!),
      quality: w.quality,
      summary: w.result.results!.summary,
      findings: w.result.results!.findings,
    }));
}

async function synthesise(
  kind: "research" | "analysis",
  results: readonly BranchOutcome[],
  settings: MergeSettings,
  config: LangGraphRunnableConfig,
): Promise<Synthesis> {
  const weighted = weighResults(results);
  const { sourceAttribution, qualityScore, totalWeight } = attribute(weighted);
  if (weighted.length === 0) {
    return {
      status: "no_data",
      summary: `No ${kind} branch succeeded.`,
      primaryFindings: [],
      supportingEvidence: [],
      sourceAttribution,
      qualityScore,
      sourcesCount: 0,
      totalWeight,
    };
  }
  const model = createChatModel(settings.model).withStructuredOutput(MergeSynthesisSchema, { name: MERGE_SYNTHESIS });
  const synthesis = await callWithDeadline("branch_merger", settings.branchTimeoutMs, config, (config) =>
    model.invoke(
      [
        new SystemMessage(MERGE_SYSTEM_PROMPT),
        new HumanMessage(synthesisPrompt(kind, synthesisBlocks(weighted, sourceAttribution))),
      ],
      config,
    ),
  );
  // Keep only attributions to branches that exist: a model can invent a source.
  const known = new Set(weighted.map((w) => w.source));
  const findingsOf = (ids: readonly string[]) => {
    const wanted = new Set(ids);
    return results.filter((r) => wanted.has(r.branchId)).flatMap((r) => r.results?.findings ?? []);
  };
  return {
    status: "merged",
    summary: synthesis.summary,
    primaryFindings: synthesis.primaryFindings.map((f) => {
      const sources = f.sources.filter((s) => known.has(s));
      return withCitations({ ...f, sources }, statementCitations(f.statement, findingsOf(sources)));
    }),
    supportingEvidence: synthesis.supportingEvidence
      .filter((e) => known.has(e.source))
      .map((e) => withCitations(e, repeatedCitations(e.evidence, findingsOf([e.source])))),
    sourceAttribution,
    qualityScore,
    sourcesCount: weighted.length,
    totalWeight,
  };
}

const citedIn = (findings: readonly Finding[]) => findings.filter((f): f is CitedFinding => f.citations !== undefined);

/** The sources behind the findings a merged text repeats (their claim or a quote), once each. */
export function repeatedCitations(text: string, findings: readonly Finding[]): Citation[] {
  return citedSources(
    citedIn(findings).filter((f) => mentions(text, f.claim) || f.citations.some((c) => mentions(text, c.quote))),
  );
}

/**
 * The sources a merged statement rests on: those of the findings it repeats or, when it repeats
 * none (a common thread drawn across branches), those of every finding of the branches it names.
 */
export function statementCitations(statement: string, findings: readonly Finding[]): Citation[] {
  const repeated = repeatedCitations(statement, findings);
  return repeated.length ? repeated : citedSources(citedIn(findings));
}

/** An item with its citations, or as it was when it has none: a merge that read no source looks as before. */
const withCitations = <T extends object>(item: T, citations: Citation[]) =>
  citations.length ? { ...item, citations } : item;

/**
 * Of the findings built from sources, how many kept a grounded citation; undefined when no
 * branch read a source, so the judge scores evidence as it always has.
 */
export function grounding(results: readonly BranchOutcome[]): { grounded: number; findings: number } | undefined {
  const cited = citedIn(results.flatMap((r) => r.results?.findings ?? []));
  return cited.length
    ? { grounded: cited.filter((f) => f.citations.length > 0).length, findings: cited.length }
    : undefined;
}

/** Research and analysis count in proportion to the weight behind each. */
export function overallQuality(research: Synthesis, analysis: Synthesis): number {
  const total = research.totalWeight + analysis.totalWeight;
  return total === 0
    ? 0
    : (research.qualityScore * research.totalWeight + analysis.qualityScore * analysis.totalWeight) / total;
}

/** The settings the merge's model call runs under. */
export interface MergeSettings {
  model: string;
  /** The merge's model call is cut off after this long, as a branch's would be. */
  branchTimeoutMs: number;
}

export interface Merge {
  integrationResult: IntegrationResult;
  mergePerformance: MergePerformance;
  executionTimeline: SharedStepEventOf<"intelligent_merge_completed">[];
}

/**
 * The branch_merger step: the planned branches' current results, merged per kind by their
 * weights. `branchIds` are every planned branch, so those with no success count as missing.
 */
export async function mergeBranches(
  branchIds: readonly string[],
  results: readonly BranchOutcome[],
  settings: MergeSettings,
  config: LangGraphRunnableConfig,
): Promise<Merge> {
  const succeeded = results.filter((r) => r.status === "success");
  const failed = results.filter((r) => r.status === "failed").map((r) => r.branchId);
  const missing = branchIds.filter((id) => !succeeded.some((r) => r.branchId === id));

  const [researchSynthesis, analysisSynthesis] = await Promise.all([
    synthesise(
      "research",
      succeeded.filter((r) => r.type === "research"),
      settings,
      config,
    ),
    synthesise(
      "analysis",
      succeeded.filter((r) => r.type === "analysis"),
      settings,
      config,
    ),
  ]);
  const integratedAt = now();
  const integrationResult: IntegrationResult = {
    researchSynthesis,
    analysisSynthesis,
    integrationMetadata: {
      successfulBranches: succeeded.length,
      failedBranches: failed,
      missingBranches: missing,
      overallQualityScore: overallQuality(researchSynthesis, analysisSynthesis),
      integratedAt,
    },
    qualityMetrics: integrationQualityMetrics(
      weighResults(succeeded.filter((r) => r.type === "research")),
      weighResults(succeeded.filter((r) => r.type === "analysis")),
      branchIds.length,
    ),
  };
  const grounded = grounding(succeeded);
  if (grounded) integrationResult.grounding = grounded;
  const qualities = succeeded.map((r) => r.performance.dataQualityScore);
  return {
    integrationResult,
    mergePerformance: {
      mergedAt: integratedAt,
      branchesProcessed: results.length,
      successRate: branchIds.length ? succeeded.length / branchIds.length : 0,
      qualityDistribution: {
        min: qualities.length ? Math.min(...qualities) : 0,
        max: qualities.length ? Math.max(...qualities) : 0,
        mean: qualities.length ? qualities.reduce((a, b) => a + b, 0) / qualities.length : 0,
      },
    },
    executionTimeline: [
      {
        at: integratedAt,
        event: "intelligent_merge_completed",
        node: "branch_merger",
        successfulBranches: succeeded.length,
        failedBranches: failed.length,
        missingBranches: missing,
        overallQuality: integrationResult.integrationMetadata.overallQualityScore,
      },
    ],
  };
}
