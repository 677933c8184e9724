import { interrupt } from "@langchain/langgraph";
import { z } from "zod";
import { InputError } from "./errors.js";
import type { QUALITY_RUBRIC, SyncAction, SynchronizationStatus, Synthesis } from "./merge.js";

/**
 * Review decisions: the one implementation the graph, the CLI and API clients share.
 * A decision travels as the resume value of the review interrupt, always an object
 * (LangGraph drops falsy resume values).
 */
export const REVIEW_POINTS = ["sync_point_manager", "quality_validator"] as const;
export type ReviewPoint = (typeof REVIEW_POINTS)[number];

export const ReviewDecisionInputSchema = z
  .object({
    action: z.enum(["approve", "reject", "feedback"]),
    feedback: z.string().trim().min(1).max(10_000).optional(),
    reviewer: z.string().trim().min(1).max(200).optional(),
  })
  .strict()
  .refine((d) => d.action !== "feedback" || d.feedback !== undefined, {
    message: "a feedback decision needs the feedback text",
    path: ["feedback"],
  });

export type ReviewDecisionInput = z.infer<typeof ReviewDecisionInputSchema>;

export interface ReviewDecision {
  point: ReviewPoint;
  action: ReviewDecisionInput["action"];
  feedback?: string;
  reviewer: string;
  at: string;
  /** The revision round the decision was made in. */
  revision: number;
}

/** What every review interrupt carries; each point's details: ReviewRequest. */
export interface ReviewPrompt {
  point: ReviewPoint;
  question: string;
  options: ReviewDecisionInput["action"][];
  details: object;
  /** Set when the pause asks again because the last decision was invalid. */
  error?: string;
}

/** A branch's outcome as the sync review shows it. */
export interface SyncReviewBranch {
  branchId: string;
  node?: string;
  status: "success" | "failed" | "pending";
  quality?: number;
  seconds?: number;
  error?: string;
  summary?: string;
}

/** What a review interrupt carries to the reviewer, keyed by the review point. */
export type ReviewRequest = ReviewPrompt &
  (
    | {
        point: "sync_point_manager";
        details: { proposedAction: SyncAction; synchronization: SynchronizationStatus; branches: SyncReviewBranch[] };
      }
    | {
        point: "quality_validator";
        details: {
          qualityScore: number;
          threshold: number;
          rubric: typeof QUALITY_RUBRIC;
          revision: number;
          revisionsLeft: number;
          research: Synthesis;
          analysis: Synthesis;
          missingBranches: string[];
        };
      }
  );

/** The feedback reviewers gave in a revision round, oldest first. */
export function feedbackInRound(decisions: ReviewDecision[], revision: number): string[] {
  return decisions.filter((d) => d.action === "feedback" && d.revision === revision).map((d) => d.feedback!);
}

export function parseReviewDecision(raw: unknown): ReviewDecisionInput {
  const parsed = ReviewDecisionInputSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new InputError(`invalid review decision: ${issue.path.join(".") || "decision"}: ${issue.message}`);
  }
  return parsed.data;
}

/**
 * Pauses the run for a human decision and returns it, stamped: the two review nodes call
 * this first thing, an interrupt with a payload rather than a static breakpoint
 * (docs/design.md says why).
 *
 * An invalid decision pauses again, saying why. Throwing instead would poison the
 * thread: LangGraph keeps every resume value of a task, so each later resume would
 * replay the invalid one first. The CLI validates before it resumes; API and Studio
 * clients send whatever they are given.
 */
export function requestReview(request: ReviewPrompt, revision: number): ReviewDecision {
  let decision: ReviewDecisionInput | undefined;
  let error: string | undefined;
  while (!decision) {
    const answer = interrupt(error ? { ...request, error } : request);
    try {
      decision = parseReviewDecision(answer);
    } catch (invalid) {
      if (!(invalid instanceof InputError)) throw invalid;
      error = invalid.message;
    }
  }
  return {
    point: request.point,
    action: decision.action,
    ...(decision.feedback ? { feedback: decision.feedback } : {}),
    reviewer: decision.reviewer ?? "anonymous",
    at: new Date().toISOString(),
    revision,
  };
}
