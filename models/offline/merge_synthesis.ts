import type { MergeSynthesis } from "../../state/shared/merge.js";
import { PROMPT_LABELS } from "../../state/shared/prompt_labels.js";
import {
  branchBlocks,
  clip,
  embeddedJson,
  jsonStrings,
  keywords,
  labelled,
  anyOf,
  labelPattern,
  nounPhrases,
  objectsIn,
  sentences,
  type Prompt,
} from "./text.js";

interface BranchMaterial {
  id: string;
  claims: string[];
  evidence: string[];
}

const BULLET = /^[ \t]*[-*•][ \t]+(\S.*)$/gm;
/** Where a finding's line turns from its claim to its evidence (state/shared/prompt_labels.ts). */
const EVIDENCE = new RegExp(`\\s*\\b(?:${anyOf(PROMPT_LABELS.evidence)}):\\s*`, "i");
const SUMMARY = labelPattern(PROMPT_LABELS.summary);

/**
 * A branch block's claims and evidence, whether the prompt lists them as JSON records
 * or as `- claim (confidence x) Evidence: a | b` lines.
 */
function readBlock(id: string, text: string): BranchMaterial {
  const claims = jsonStrings(text, "claim");
  const evidence: string[] = [];
  for (const value of embeddedJson(text)) {
    for (const record of objectsIn(value)) {
      if (Array.isArray(record.evidence))
        evidence.push(...record.evidence.filter((e): e is string => typeof e === "string"));
    }
  }
  for (const [, line] of text.matchAll(BULLET)) {
    const [claim = "", support] = line!.split(EVIDENCE);
    const stripped = claim.replace(/\s*\((?:confidence|conf\.?)[^)]*\)\s*$/i, "").trim();
    if (stripped) claims.push(stripped);
    if (support)
      evidence.push(
        ...support
          .split(/\s+\|\s+/)
          .map((e) => e.trim())
          .filter(Boolean),
      );
  }
  const summary = labelled(text, SUMMARY);
  if (!claims.length) claims.push(...sentences(summary ?? text).slice(0, 1));
  if (!evidence.length && summary) evidence.push(summary);
  return {
    id,
    claims: [...new Set(claims.map((c) => clip(c.replace(/\.$/, ""), 240)))],
    evidence: [...new Set(evidence.map((e) => clip(e, 240)))],
  };
}

/** Merges the branch results in the prompt, attributing every statement to the branch ids it rests on. */
export function mergeSynthesis(prompt: Prompt): MergeSynthesis {
  const branches = branchBlocks(prompt.material)
    .map((block) => readBlock(block.id, block.text))
    .filter((branch) => branch.claims.length);
  if (!branches.length) {
    return { summary: "No branch results were given to merge.", primaryFindings: [], supportingEvidence: [] };
  }

  const ids = branches.map((b) => b.id);
  // The subject most branches' claims share: stated as what they share, not as advice, so the
  // merge adds no recommendation the branches did not make.
  const claimsText = branches.flatMap((b) => b.claims).join(". ");
  const topic = nounPhrases(claimsText, 1)[0] ?? keywords(claimsText, 1)[0];
  const backing = topic ? ids.filter((_, i) => branches[i]!.claims.join(" ").toLowerCase().includes(topic)) : [];
  const commonThread =
    backing.length > 1 ? `Common thread: ${topic}, raised by ${backing.length} of ${ids.length} branches` : undefined;

  const primaryFindings = [
    ...(commonThread ? [{ statement: commonThread, sources: backing }] : []),
    ...branches.map((b) => ({ statement: b.claims[0]!, sources: [b.id] })),
  ];
  const supportingEvidence = branches.flatMap((b) =>
    b.evidence.slice(0, 2).map((evidence) => ({ evidence, source: b.id })),
  );
  const lead = branches
    .slice(0, 2)
    .map((b) => b.claims[0])
    .join("; ");
  return {
    summary: `Synthesis of ${ids.length} branch result(s) (${ids.join(", ")}): ${lead}.${commonThread ? ` ${commonThread}.` : ""}`,
    primaryFindings,
    supportingEvidence,
  };
}
