import { describe, expect, it } from "vitest";
import { InputError } from "../state/shared/errors.js";
import { REVIEW_POINTS, parseReviewDecision } from "../state/shared/review.js";

function rejection(raw: unknown): InputError {
  try {
    parseReviewDecision(raw);
  } catch (error) {
    expect(error).toBeInstanceOf(InputError);
    return error as InputError;
  }
  throw new Error(`expected parseReviewDecision to reject ${JSON.stringify(raw)}`);
}

describe("parseReviewDecision", () => {
  it("accepts approve and reject, with an optional reviewer", () => {
    expect(parseReviewDecision({ action: "approve" })).toEqual({ action: "approve" });
    expect(parseReviewDecision({ action: "reject", reviewer: "ada" })).toEqual({ action: "reject", reviewer: "ada" });
  });

  it("accepts feedback with its text, trimmed", () => {
    expect(parseReviewDecision({ action: "feedback", feedback: "  cite the sources  ", reviewer: "ada" })).toEqual({
      action: "feedback",
      feedback: "cite the sources",
      reviewer: "ada",
    });
  });

  it("rejects feedback without text, naming the feedback field", () => {
    expect(rejection({ action: "feedback" }).message).toMatch(
      /^invalid review decision: feedback: a feedback decision needs the feedback text/,
    );
  });

  it("rejects feedback whose text is only whitespace", () => {
    expect(rejection({ action: "feedback", feedback: "   " }).message).toMatch(/feedback:/);
  });

  it("rejects an unknown action, naming the action field", () => {
    expect(rejection({ action: "maybe" }).message).toMatch(/^invalid review decision: action:/);
  });

  it("rejects a decision without an action", () => {
    expect(rejection({ feedback: "more" }).message).toMatch(/action:/);
  });

  it("rejects unknown keys", () => {
    expect(rejection({ action: "approve", score: 1 }).message).toContain("score");
  });

  it("rejects a decision that is not an object", () => {
    for (const raw of [undefined, null, "approve", true]) rejection(raw);
  });

  it("reviews at the documents' two interrupt points", () => {
    expect([...REVIEW_POINTS]).toEqual(["sync_point_manager", "quality_validator"]);
  });
});
