import { HumanMessage, SystemMessage } from "@langchain/core/messages";
import type { LangGraphRunnableConfig } from "@langchain/langgraph";
import { callWithDeadline } from "../../models/deadline.js";
import { createChatModel } from "../../models/index.js";
import {
  QUALITY_JUDGEMENT,
  QUALITY_RUBRIC,
  QualityJudgementSchema,
  RUBRIC_KEYS,
  type IntegrationResult,
  type MergePerformance,
  type QualityJudgement,
  type QualityReport,
  type QualityRoute,
} from "../../state/shared/merge.js";
import { feedbackInRound, requestReview, type ReviewDecision, type ReviewRequest } from "../../state/shared/review.js";
import { now } from "../../state/shared/time.js";
import type { SharedStepEventOf } from "../../state/shared/timeline.js";
import type { MergeSettings } from "./merge.js";
import { judgePrompt, judgeSystemPrompt } from "./prompts.js";

/** The judge's rubric scores averaged. */
export function judgeScore(judgement: QualityJudgement): number {
  return RUBRIC_KEYS.reduce((sum, key) => sum + judgement[key], 0) / RUBRIC_KEYS.length;
}

/**
 * The judgement with its evidence criterion measured rather than opined when branches read
 * sources: the share of their findings whose citations held up. A model cannot see what the
 * branches read; the grounding check did, quote by quote.
 */
export function withGroundedEvidence(
  judge: QualityJudgement,
  grounding: IntegrationResult["grounding"],
): QualityJudgement {
  if (!grounding) return judge;
  const ungrounded = grounding.findings - grounding.grounded;
  return {
    ...judge,
    evidence: Math.round((grounding.grounded / grounding.findings) * 100) / 100,
    issues: [
      ...judge.issues.filter((issue) => !/evidence/i.test(issue)),
      ...(ungrounded
        ? [`${ungrounded} of ${grounding.findings} findings cite no passage found in the sources read`]
        : []),
    ],
  };
}

/** The quality score: the judge's verdict, weighed with the merge's own metrics. */
export function qualityScore(judge: number, mergeQuality: number, successRate: number): number {
  return 0.5 * judge + 0.3 * mergeQuality + 0.2 * successRate;
}

/**
 * The validator's routes. A reviewer's feedback asks for a revision whatever the score;
 * once revisions run out, a score below the threshold is a critical failure.
 */
export function routeQuality(input: {
  score: number;
  threshold: number;
  successfulBranches: number;
  revisionsLeft: number;
  feedback: boolean;
}): { route: QualityRoute; reason: string } {
  const { score, threshold, revisionsLeft } = input;
  if (input.successfulBranches === 0) return { route: "critical_failure", reason: "no branch succeeded" };
  if (input.feedback && revisionsLeft > 0) return { route: "needs_revision", reason: "the reviewer asked for changes" };
  if (score >= threshold)
    return { route: "quality_approved", reason: `score ${score.toFixed(3)} ≥ threshold ${threshold}` };
  if (revisionsLeft > 0)
    return { route: "needs_revision", reason: `score ${score.toFixed(3)} < threshold ${threshold}` };
  return {
    route: "critical_failure",
    reason: `score ${score.toFixed(3)} still below threshold ${threshold} after the last revision`,
  };
}

/** The settings the quality gate runs under. */
export interface ValidationSettings extends MergeSettings {
  review: "always" | "never";
  qualityThreshold: number;
  maxRevisions: number;
}

/** What the quality gate reads: the merge's result, the tasks it answers and the revision round. */
export interface ValidationInput {
  integrationResult: IntegrationResult;
  mergePerformance: MergePerformance | undefined;
  taskQueue: readonly { description: string }[];
  revisionCount: number;
  reviewDecisions: readonly ReviewDecision[];
  settings: ValidationSettings;
}

function validatorReview(input: ValidationInput): ReviewRequest {
  const { integrationResult: result, settings } = input;
  return {
    point: "quality_validator",
    question: `Merged result of ${result.integrationMetadata.successfulBranches} branches, quality ${result.integrationMetadata.overallQualityScore.toFixed(3)}. Approve it for validation?`,
    options: ["approve", "reject", "feedback"],
    details: {
      qualityScore: result.integrationMetadata.overallQualityScore,
      threshold: settings.qualityThreshold,
      rubric: QUALITY_RUBRIC,
      revision: input.revisionCount,
      revisionsLeft: settings.maxRevisions - input.revisionCount,
      research: result.researchSynthesis,
      analysis: result.analysisSynthesis,
      missingBranches: result.integrationMetadata.missingBranches,
    },
  };
}

type ValidationEvent = SharedStepEventOf<"quality_validated" | "review_decision">;

export type Validation =
  | { rejected: { reviewDecisions: ReviewDecision[]; failureReason: string; executionTimeline: ValidationEvent[] } }
  | {
      qualityReport: QualityReport;
      reviewDecisions?: ReviewDecision[];
      failureReason?: string;
      executionTimeline: ValidationEvent[];
    };

/**
 * The quality_validator step: an optional human review, the judge's model call, and the route.
 * The pause comes first, before the judge's model call, as interrupt_before would: the node
 * re-runs from the top on resume and must not pay for the judge twice.
 */
export async function validateQuality(input: ValidationInput, config: LangGraphRunnableConfig): Promise<Validation> {
  const { integrationResult: result, settings } = input;
  let decision: ReviewDecision | undefined;
  const timeline: ValidationEvent[] = [];
  if (settings.review === "always") {
    decision = requestReview(validatorReview(input), input.revisionCount);
    timeline.push({ event: "review_decision", node: "quality_validator", ...decision });
    if (decision.action === "reject") {
      return {
        rejected: {
          reviewDecisions: [decision],
          failureReason: `rejected by ${decision.reviewer} at quality_validator`,
          executionTimeline: timeline,
        },
      };
    }
  }

  const successRate = input.mergePerformance?.successRate ?? 0;
  const mergeQuality = result.integrationMetadata.overallQualityScore;
  let judge: QualityJudgement | undefined;
  if (result.integrationMetadata.successfulBranches > 0) {
    const model = createChatModel(settings.model).withStructuredOutput(QualityJudgementSchema, {
      name: QUALITY_JUDGEMENT,
    });
    judge = await callWithDeadline("quality_validator", settings.branchTimeoutMs, config, (config) =>
      model.invoke(
        [
          new SystemMessage(judgeSystemPrompt(Boolean(result.grounding))),
          new HumanMessage(judgePrompt(input.taskQueue, result)),
        ],
        config,
      ),
    ).then((judgement) => withGroundedEvidence(judgement, result.grounding));
  }
  const judged = judge ? judgeScore(judge) : 0;
  const score = qualityScore(judged, mergeQuality, successRate);
  const feedback =
    decision?.action === "feedback" || feedbackInRound([...input.reviewDecisions], input.revisionCount).length > 0;
  const { route, reason } = routeQuality({
    score,
    threshold: settings.qualityThreshold,
    successfulBranches: result.integrationMetadata.successfulBranches,
    revisionsLeft: settings.maxRevisions - input.revisionCount,
    feedback,
  });

  const qualityReport: QualityReport = {
    score,
    threshold: settings.qualityThreshold,
    ...(judge ? { judge, judgeScore: judged } : {}),
    mergeQuality,
    successRate,
    route,
    reason,
    revision: input.revisionCount,
    at: now(),
  };
  timeline.push({ at: qualityReport.at, event: "quality_validated", node: "quality_validator", score, route, reason });
  return {
    qualityReport,
    ...(decision ? { reviewDecisions: [decision] } : {}),
    ...(route === "critical_failure" ? { failureReason: reason } : {}),
    executionTimeline: timeline,
  };
}
