import { z } from "zod";
import { CitationSchema, FindingSchema, type Citation } from "./findings.js";

export { CitationSchema, type Citation };

/**
 * What a tool-using agent read and what it says about it. A citation points at one passage a
 * source returned; its quote is a verbatim span of that passage, and a finding's evidence is
 * exactly the quotes of its citations, so every piece of evidence can be found in a source.
 */

export const SourcePassageSchema = z.object({
  sourceId: z
    .string()
    .describe("Stable id of the source: 'corpus:<path>', 'mcp:<server>/<tool>(<arguments>)', 'web:<url>'"),
  title: z.string(),
  location: z.string().describe("Where in the source: 'path:12-18', a tool call, a URL"),
  text: z.string(),
});
export type SourcePassage = z.infer<typeof SourcePassageSchema>;

export const CitedFindingSchema = FindingSchema.extend({
  citations: z.array(CitationSchema).describe("The passages the claim rests on; the evidence is their quotes"),
});
export type CitedFinding = z.infer<typeof CitedFindingSchema>;

export const CitedFindingsSchema = z.object({
  summary: z.string(),
  findings: z.array(CitedFindingSchema).min(1),
  confidence: z.number().min(0).max(1).describe("Confidence in the findings as a whole"),
});
export type CitedFindings = z.infer<typeof CitedFindingsSchema>;
export const CITED_FINDINGS = "cited_findings";

/** The result of one tool call, as the agent is shown it and as the loop saves it. */
export const SourceResultSchema = z.discriminatedUnion("status", [
  z.object({ tool: z.string(), status: z.literal("ok"), passages: z.array(SourcePassageSchema) }),
  z.object({ tool: z.string(), status: z.literal("error"), error: z.string() }),
]);
export type SourceResult = z.infer<typeof SourceResultSchema>;

/** The confidence a claim keeps when none of its citations holds up: it rests on nothing read. */
export const UNSUPPORTED_CONFIDENCE = 0.3;

const normalised = (text: string) => text.replace(/\s+/g, " ").trim().toLowerCase();

/** The shortest span `mentions` matches the other way round: a few words would match anywhere. */
const MIN_SPAN = 20;

/**
 * Whether a text repeats a span, whitespace and case aside: the merge copies or clips what a
 * finding said (a clipped span ends in "…" and may drop a final full stop), so either may hold the other.
 */
export function mentions(text: string, span: string): boolean {
  const [whole, part] = [text, span].map((t) => normalised(t).replace(/[….]+$/, ""));
  if (!whole || !part) return false;
  return whole.includes(part) || (whole.length >= MIN_SPAN && part.includes(whole));
}

/**
 * The findings with only the citations whose quote is found verbatim (whitespace and case aside)
 * in a passage the same source returned, their title and location taken from that passage, and
 * each finding's evidence set to its quotes. A model may misquote or invent a source; the sources
 * are what was actually read. A finding left with no citation keeps its claim but not its confidence.
 */
export function groundFindings(findings: CitedFindings, passages: readonly SourcePassage[]): CitedFindings {
  const grounded = findings.findings.map((finding) => {
    const citations = finding.citations.flatMap((citation) => {
      const quote = normalised(citation.quote);
      const passage = quote
        ? passages.find((p) => p.sourceId === citation.sourceId && normalised(p.text).includes(quote))
        : undefined;
      return passage ? [{ ...citation, title: passage.title, location: passage.location }] : [];
    });
    return {
      ...finding,
      citations,
      evidence: citations.map((c) => c.quote),
      confidence: citations.length ? finding.confidence : Math.min(finding.confidence, UNSUPPORTED_CONFIDENCE),
    };
  });
  const mean = grounded.reduce((sum, f) => sum + f.confidence, 0) / grounded.length;
  return { ...findings, findings: grounded, confidence: Math.min(findings.confidence, Math.round(mean * 100) / 100) };
}

/** Every source a set of findings cites, once each, in order of first citation. */
export function citedSources(findings: readonly CitedFinding[]): Citation[] {
  const seen = new Map<string, Citation>();
  for (const citation of findings.flatMap((f) => f.citations))
    if (!seen.has(citation.sourceId)) seen.set(citation.sourceId, citation);
  return [...seen.values()];
}
