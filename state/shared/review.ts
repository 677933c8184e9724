import { interrupt } from "@langchain/langgraph";
import { z } from "zod";
import { InputError } from "./errors.js";

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

/** What a review interrupt carries to the reviewer. */
export interface ReviewRequest<T = unknown> {
  point: ReviewPoint;
  question: string;
  options: ReviewDecisionInput["action"][];
  details: T;
  /** Set when the pause asks again because the last decision was invalid. */
  error?: string;
}

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
export function requestReview<T>(request: ReviewRequest<T>, revision: number): ReviewDecision {
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
