import { spawnSync } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import readline from "node:readline/promises";
import type { ReviewDecisionInput } from "../../state/shared/review.js";
import { reviewableState, reviewEditUpdate } from "../../state/parallel_workflow/review_edit.js";
import type { ReviewRequest, WorkflowStateType } from "../../state/parallel_workflow/workflow.js";
import type { ReviewEditRequest } from "./runner.js";

const fixed = (x: number | undefined, digits = 3) => (x === undefined ? "-" : x.toFixed(digits));

/** What the reviewer must judge, as plain lines. */
export function renderReviewRequest(request: ReviewRequest): string[] {
  const lines = [``, `── Review at ${request.point} ──`, request.question];
  if (request.error) lines.push(`The last answer was refused: ${request.error}`);
  if (request.point === "sync_point_manager") {
    lines.push("", "branch                        node                       status    quality  seconds");
    for (const b of request.details.branches) {
      lines.push(
        `${b.branchId.padEnd(30)}${(b.node ?? "-").padEnd(27)}${b.status.padEnd(10)}${fixed(b.quality).padEnd(9)}${fixed(b.seconds, 2)}` +
          (b.error ? `\n    error: ${b.error}` : "") +
          (b.summary ? `\n    ${b.summary.length > 110 ? `${b.summary.slice(0, 109)}…` : b.summary}` : ""),
      );
    }
  } else {
    const d = request.details;
    lines.push(
      "",
      `quality score ${fixed(d.qualityScore)} (threshold ${d.threshold}), revision ${d.revision}, ${d.revisionsLeft} left`,
    );
    lines.push("rubric:", ...Object.entries(d.rubric).map(([k, v]) => `  ${k}: ${v}`));
    for (const [title, synthesis] of [
      ["research", d.research],
      ["analysis", d.analysis],
    ] as const) {
      lines.push("", `${title}: ${synthesis.summary}`);
      for (const f of synthesis.primaryFindings) lines.push(`  - ${f.statement} [${f.sources.join(", ")}]`);
      const attribution = Object.entries(synthesis.sourceAttribution)
        .map(([s, w]) => `${s} ${(w * 100).toFixed(0)}%`)
        .join(", ");
      if (attribution) lines.push(`  attribution: ${attribution}`);
    }
    if (d.missingBranches.length) lines.push("", `missing: ${d.missingBranches.join(", ")}`);
  }
  return lines;
}

/**
 * Opens $VISUAL or $EDITOR (else vi) on the reviewable part of the state and returns the
 * edited document once it parses and fits; undefined when the reviewer changed nothing.
 */
async function editInEditor(
  request: ReviewRequest,
  state: WorkflowStateType,
  reviewer: string,
): Promise<ReviewEditRequest | undefined> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "orchestra-review-"));
  const file = path.join(dir, `${request.point}.json`);
  const original = JSON.stringify(reviewableState(request.point, state), null, 2) + "\n";
  await writeFile(file, original);
  try {
    const editor = process.env.VISUAL || process.env.EDITOR || "vi";
    for (;;) {
      // Through a shell, so EDITOR may carry arguments ("code --wait").
      const run = spawnSync(`${editor} ${JSON.stringify(file)}`, { stdio: "inherit", shell: true });
      if (run.status !== 0) {
        process.stdout.write(`The editor (${editor}) exited with ${run.status ?? run.signal}: nothing changed.\n`);
        return undefined;
      }
      const text = await readFile(file, "utf8");
      if (text === original) return undefined;
      try {
        const edit = JSON.parse(text);
        reviewEditUpdate(request.point, state, edit);
        return { edit, reviewer };
      } catch (error) {
        process.stdout.write(
          `${error instanceof SyntaxError ? `Not valid JSON: ${error.message}` : (error as Error).message}\n`,
        );
        const again = await ask("Edit again? [y/n] ");
        if (again?.trim().toLowerCase() !== "y") return undefined;
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** One question; undefined on Ctrl-C or end of input. */
async function ask(question: string): Promise<string | undefined> {
  const rl = readline.createInterface({ input: process.stdin, output: process.stdout });
  const aborted = new AbortController();
  rl.on("SIGINT", () => aborted.abort());
  rl.on("close", () => aborted.abort());
  try {
    return await rl.question(question, { signal: aborted.signal });
  } catch (error) {
    if (aborted.signal.aborted) return undefined;
    throw error;
  } finally {
    rl.close();
  }
}

/**
 * Asks the reviewer in the terminal. Resolves undefined on Ctrl-C or end of input,
 * which leaves the thread paused.
 */
export async function promptReview(
  request: ReviewRequest,
  state: WorkflowStateType,
  reviewer: string,
): Promise<ReviewDecisionInput | ReviewEditRequest | undefined> {
  process.stdout.write(renderReviewRequest(request).join("\n") + "\n\n");
  for (;;) {
    const answer = await ask("Decision: [a]pprove, [r]eject, [f]eedback, [e]dit? ");
    if (answer === undefined) return undefined;
    const choice = answer.trim().toLowerCase();
    if (choice === "a" || choice === "approve") return { action: "approve", reviewer };
    if (choice === "r" || choice === "reject") return { action: "reject", reviewer };
    if (choice === "f" || choice === "feedback") {
      const feedback = await ask("Feedback: ");
      if (feedback === undefined) return undefined;
      if (feedback.trim()) return { action: "feedback", feedback: feedback.trim(), reviewer };
      process.stdout.write("Feedback must not be empty.\n");
    }
    if (choice === "e" || choice === "edit") {
      const edit = await editInEditor(request, state, reviewer);
      if (edit) return edit;
      process.stdout.write("No changes.\n");
    }
  }
}
