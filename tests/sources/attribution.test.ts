import { describe, expect, it } from "vitest";
import { grounding, repeatedCitations, statementCitations } from "../../nodes/shared/merge.js";
import { referencesOf } from "../../nodes/shared/report.js";
import { withGroundedEvidence } from "../../nodes/shared/validation.js";
import { mentions, type Citation, type CitedFinding } from "../../state/shared/citations.js";
import type { BranchOutcome, IntegrationResult } from "../../state/shared/merge.js";
import { synthesis } from "../support/fixtures.js";

const cite = (sourceId: string, quote: string): Citation => ({
  sourceId,
  title: sourceId.toUpperCase(),
  location: `${sourceId}:1-2`,
  quote,
});
const finding = (claim: string, citations: Citation[]): CitedFinding => ({
  claim,
  evidence: citations.map((c) => c.quote),
  confidence: 0.7,
  citations,
});
const A = cite("a", "The battery lasted 41 days in freezing temperatures.");
const B = cite("b", "The cell keeps about 70 percent of its capacity below zero.");
const C = cite("c", "Roughly six weeks below zero, measured in the field.");

describe("merge attribution", () => {
  it("matches a span whatever its whitespace, case, clipping or final full stop", () => {
    expect(mentions("In short: the BATTERY lasted 41\n days in freezing temperatures", A.quote)).toBe(true);
    expect(mentions("The battery lasted 41 days in freez…", A.quote)).toBe(true);
    expect(mentions("battery", A.quote)).toBe(false);
    expect(mentions("", A.quote)).toBe(false);
  });

  it("gives a merged text the sources of the findings it repeats, each once", () => {
    const findings = [
      finding("Battery life is 41 days", [A]),
      finding("Capacity drops", [B, A]),
      finding("Six weeks", [C]),
    ];
    expect(repeatedCitations(`Evidence: ${B.quote}`, findings)).toEqual([B, A]);
    expect(repeatedCitations("Battery life is 41 days", findings)).toEqual([A]);
    expect(repeatedCitations("Something else entirely", findings)).toEqual([]);
  });

  it("gives a statement that repeats no finding the sources of all its branches' findings", () => {
    const findings = [
      finding("Battery life is 41 days", [A]),
      finding("Six weeks", [C]),
      { claim: "Unsourced", evidence: [], confidence: 0.5 },
    ];
    expect(statementCitations("Common thread: freezing, raised by 2 branches", findings)).toEqual([A, C]);
    expect(statementCitations("Six weeks", findings)).toEqual([C]);
  });

  it("counts the sourced findings that kept a citation, and nothing when no branch read a source", () => {
    const outcome = (findings: BranchOutcome["results"]): BranchOutcome => ({
      branchId: "b",
      node: "n",
      type: "research",
      status: "success",
      results: findings,
      performance: { executionTime: 1, dataQualityScore: 0.5 },
    });
    const sourced = outcome({ summary: "", confidence: 0.5, findings: [finding("x", [A]), finding("y", [])] });
    const unsourced = outcome({
      summary: "",
      confidence: 0.5,
      findings: [{ claim: "z", evidence: ["e", "f"], confidence: 0.5 }],
    });
    expect(grounding([sourced, unsourced])).toEqual({ grounded: 1, findings: 2 });
    expect(grounding([unsourced])).toBeUndefined();
  });
});

describe("references and the judge's evidence", () => {
  it("numbers sources in order of first citation, research first, with every distinct span quoted", () => {
    const C2 = { ...C, location: "c:9-9", quote: "Another span." };
    const result = {
      researchSynthesis: synthesis(
        [{ statement: "s", sources: ["b1"], citations: [B] }],
        [{ evidence: "e", source: "b1", citations: [A, B] }],
      ),
      analysisSynthesis: synthesis(
        [{ statement: "t", sources: ["b2"], citations: [C, A] }],
        [{ evidence: "f", source: "b2", citations: [C2] }],
      ),
    } as IntegrationResult;
    const references = [...referencesOf(result).values()];
    expect(references.map((r) => [r.number, r.sourceId])).toEqual([
      [1, "b"],
      [2, "a"],
      [3, "c"],
    ]);
    expect(references[2]!.quotes).toEqual([
      { location: "c:1-2", quote: C.quote },
      { location: "c:9-9", quote: "Another span." },
    ]);
  });

  it("scores evidence as the grounded share when branches read sources, and leaves the judge alone otherwise", () => {
    const judge = {
      coverage: 0.9,
      evidence: 0.95,
      consistency: 0.9,
      actionability: 0.5,
      issues: ["Weak evidence", "Few say what to do"],
    };
    expect(withGroundedEvidence(judge, undefined)).toBe(judge);
    expect(withGroundedEvidence(judge, { grounded: 3, findings: 4 })).toEqual({
      ...judge,
      evidence: 0.75,
      issues: ["Few say what to do", "1 of 4 findings cite no passage found in the sources read"],
    });
  });
});
