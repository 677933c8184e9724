import { describe, expect, it } from "vitest";
import { misquoted, UNREAD_SOURCE } from "../../models/offline/tool_use.js";
import {
  groundFindings,
  UNSUPPORTED_CONFIDENCE,
  type Citation,
  type CitedFindings,
  type SourcePassage,
} from "../../state/shared/citations.js";

// groundFindings keeps a citation only when its quote is found, whitespace and case aside, in one
// passage its own source returned (docs/design.md, "Citations").

const NOTES: SourcePassage = {
  sourceId: "corpus:reference/kestrel-battery-notes.txt",
  title: "Kestrel sensor: battery notes",
  location: "reference/kestrel-battery-notes.txt:3-4",
  text: "The lithium cell in a Kestrel field sensor keeps about 70 percent of its capacity in freezing temperatures.\nBattery life drops from 60 days at room temperature to roughly six weeks below zero.",
};
const NOTES_NEXT: SourcePassage = {
  ...NOTES,
  location: "reference/kestrel-battery-notes.txt:5-6",
  text: "Replace the cell every second winter.",
};
const TRIAL: SourcePassage = {
  sourceId: "corpus:field-notes/kestrel-winter-trial.md",
  title: "Kestrel winter trial",
  location: "field-notes/kestrel-winter-trial.md:5-6",
  text: "In freezing temperatures, the Kestrel field sensor battery lasted 41 days on average.",
};
const READ = [NOTES, NOTES_NEXT, TRIAL];

const cite = (passage: SourcePassage, quote: string): Citation => ({
  sourceId: passage.sourceId,
  title: "as the model said",
  location: "anywhere",
  quote,
});

function answer(...citations: Citation[][]): CitedFindings {
  return {
    summary: "Kestrel battery in the cold",
    findings: citations.map((cited, i) => ({
      claim: `claim ${i + 1}`,
      evidence: cited.map((c) => c.quote),
      confidence: 0.9,
      citations: cited,
    })),
    confidence: 0.9,
  };
}

/** The one finding's citations after grounding, and its confidence. */
function grounded(...citations: Citation[]) {
  const [finding] = groundFindings(answer(citations), READ).findings;
  return { citations: finding!.citations, evidence: finding!.evidence, confidence: finding!.confidence };
}

const DROPPED = { citations: [], evidence: [], confidence: UNSUPPORTED_CONFIDENCE };

describe("groundFindings", () => {
  it("drops a quote that is not in the passage", () => {
    expect(grounded(cite(NOTES, "The battery lasts a full year in any weather."))).toEqual(DROPPED);
  });

  it("drops a quote with one word changed", () => {
    expect(grounded(cite(NOTES, "keeps about 80 percent of its capacity in freezing temperatures"))).toEqual(DROPPED);
    expect(grounded(cite(NOTES, "keeps about 70 percent of its charge in freezing temperatures"))).toEqual(DROPPED);
  });

  it("drops a citation of a source the branch never read, even when another source holds the quote", () => {
    expect(
      grounded({
        ...cite(TRIAL, "the Kestrel field sensor battery lasted 41 days on average"),
        sourceId: "corpus:unread.md",
      }),
    ).toEqual(DROPPED);
    expect(grounded({ ...cite(TRIAL, "keeps about 70 percent of its capacity"), sourceId: TRIAL.sourceId })).toEqual(
      DROPPED,
    );
  });

  it("drops a quote split across two passages of the same source", () => {
    expect(grounded(cite(NOTES, "roughly six weeks below zero. Replace the cell every second winter."))).toEqual(
      DROPPED,
    );
  });

  it("keeps a quote that differs only in whitespace and case, with the passage's title and location", () => {
    const quote = "battery LIFE drops from 60 days   at room temperature\tto roughly six weeks";
    expect(grounded(cite(NOTES, quote))).toEqual({
      citations: [{ sourceId: NOTES.sourceId, title: NOTES.title, location: NOTES.location, quote }],
      evidence: [quote],
      confidence: 0.9,
    });
    // A quote running over the passage's own line break is one span of it.
    expect(grounded(cite(NOTES, "in freezing temperatures. Battery life drops")).citations).toHaveLength(1);
  });

  it("keeps the grounded citations of a finding, drops the rest, and lowers the answer's confidence to its findings' mean", () => {
    const good = cite(TRIAL, "lasted 41 days on average");
    const result = groundFindings(
      answer([cite(NOTES, "keeps about 90 percent"), good], [cite(TRIAL, "lasted 14 days")]),
      READ,
    );
    expect(result.findings.map((f) => f.citations.map((c) => c.quote))).toEqual([["lasted 41 days on average"], []]);
    expect(result.findings.map((f) => f.confidence)).toEqual([0.9, UNSUPPORTED_CONFIDENCE]);
    expect(result.confidence).toBe(0.6);
  });

  it("drops every citation of the offline model's misquoting answer (the fault plan's misquote)", () => {
    const faithful = answer(
      [cite(NOTES, "keeps about 70 percent of its capacity in freezing temperatures")],
      [cite(TRIAL, "lasted 41 days on average")],
    );
    expect(groundFindings(faithful, READ).findings.every((f) => f.citations.length === 1)).toBe(true);
    const bad = misquoted(faithful) as CitedFindings;
    expect(bad.findings.flatMap((f) => f.citations.map((c) => c.sourceId))).toContain(UNREAD_SOURCE.sourceId);
    expect(groundFindings(bad, READ).findings.map((f) => f.citations)).toEqual([[], []]);
  });
});
