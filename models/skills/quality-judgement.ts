import { QUALITY_RUBRIC, type QualityJudgement } from "../../state/outputs.js";
import { branchIds, clamp, clip, jsonStrings, keywords, round2, statedTasks, type Prompt } from "./text.js";

/** What the judged result holds, read from its sections or from JSON fields. */
interface Reading {
  statements: string[];
  evidence: string[];
  prose: string[];
  sources: number;
  /** Listed findings that name no branch id; JSON findings carry theirs in a separate field. */
  unsourced: number;
}

const RUBRIC_LINE = new RegExp(`^(?:${Object.keys(QUALITY_RUBRIC).join("|")})\\s*:`, "i");

/**
 * Walks the result's sections: list items are primary findings until a
 * `Supporting evidence:` heading, after which they are evidence; a task list is skipped.
 */
function readResult(prompt: Prompt): Reading {
  const reading: Reading = {
    statements: jsonStrings(prompt.material, "statement"),
    evidence: jsonStrings(prompt.material, "evidence"),
    prose: jsonStrings(prompt.material, "summary"),
    sources: branchIds(prompt.material).length,
    unsourced: 0,
  };
  let section: "findings" | "evidence" | "tasks" = "findings";
  for (const line of prompt.material.split("\n")) {
    const item = /^[ \t]*(?:[-*•]|\d+[.)])[ \t]+(\S.*)$/.exec(line)?.[1];
    if (/^[ \t]*supporting evidence[ \t]*:?[ \t]*$/i.test(line)) section = "evidence";
    else if (/^[ \t]*#/.test(line) || /^[ \t]*[a-z][\w ]{0,40}:[ \t]*$/i.test(line)) {
      section = /task/i.test(line) ? "tasks" : "findings";
    } else if (item && !RUBRIC_LINE.test(item)) {
      if (section === "findings") {
        reading.statements.push(item);
        if (!branchIds(item).length) reading.unsourced++;
      } else if (section === "evidence") {
        reading.evidence.push(item);
      }
    } else if (!item && section === "findings" && line.trim() && !line.trim().startsWith("{")) {
      reading.prose.push(line.trim());
    }
  }
  return reading;
}

const count = (text: string, pattern: RegExp) => (text.match(pattern) ?? []).length;
const DISAGREEMENT = /\b(contradict\w*|conflict\w*|inconsisten\w*|disagree\w*|however|on the other hand)\b/gi;
const ACTION = /\b(should|recommend\w*|prioriti[sz]\w*|next step|decide|start|first|invest|adopt|avoid|pilot|act)\b/gi;

/** Scores the integrated result on the rubric from what it visibly contains. */
export function qualityJudgement(prompt: Prompt): QualityJudgement {
  const reading = readResult(prompt);
  const findings = reading.statements.length;
  if (findings === 0) {
    return {
      coverage: 0.1,
      evidence: 0.05,
      consistency: 0.2,
      actionability: 0.1,
      issues: ["No primary findings: the integrated result has nothing to judge"],
    };
  }

  const findingsText = [...reading.statements, ...reading.prose].join(" ").toLowerCase();
  const issues: string[] = [];
  const tasks = statedTasks(prompt);
  const uncovered = tasks.filter((t) => !keywords(t.description, 3).some((w) => findingsText.includes(w)));
  const coverage = tasks.length
    ? 0.45 + (0.5 * (tasks.length - uncovered.length)) / tasks.length + 0.05 * Math.min(1, reading.sources / 3)
    : 0.6 + 0.075 * Math.min(5, reading.sources);
  if (uncovered.length) {
    issues.push(`No primary finding addresses: ${uncovered.map((t) => `"${clip(t.description, 60)}"`).join("; ")}`);
  } else if (!tasks.length && coverage < 0.9) {
    issues.push(`Only ${reading.sources} branch(es) contribute to the result`);
  }

  const { unsourced } = reading;
  const evidenced = Math.min(1, reading.evidence.length / findings);
  const evidence = 0.5 + 0.4 * evidenced + 0.08 * Math.min(1, reading.sources / 4) - (0.2 * unsourced) / findings;
  if (evidenced < 1) {
    issues.push(`${findings - reading.evidence.length} of ${findings} primary findings lack supporting evidence`);
  }
  if (unsourced) issues.push(`${unsourced} primary finding(s) cite no branch`);

  const disagreements = count([...reading.statements, ...reading.evidence].join(" "), DISAGREEMENT);
  const consistency = 0.96 - 0.12 * disagreements;
  if (disagreements) issues.push(`Findings show ${disagreements} sign(s) of disagreement between branches`);

  const actionability = 0.55 + 0.1 * count(findingsText, ACTION);
  if (actionability < 0.9) issues.push("The result names few concrete next steps");

  return {
    coverage: round2(clamp(coverage, 0, 1)),
    evidence: round2(clamp(evidence, 0, 1)),
    consistency: round2(clamp(consistency, 0.3, 1)),
    actionability: round2(clamp(actionability, 0, 0.97)),
    issues,
  };
}
