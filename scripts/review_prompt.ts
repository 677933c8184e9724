import readline from "node:readline/promises";
import type { ReviewDecisionInput, ReviewRequest } from "../state/review.js";

const fixed = (x: unknown, digits = 3) => (typeof x === "number" ? x.toFixed(digits) : "-");

/** What the reviewer must judge, as plain lines. */
export function renderReviewRequest(request: ReviewRequest): string[] {
  const d = request.details as Record<string, any>;
  const lines = [``, `── Review at ${request.point} ──`, request.question];
  if (request.point === "sync_point_manager") {
    lines.push("", "branch                        node                       status    quality  seconds");
    for (const b of d.branches as any[]) {
      lines.push(
        `${String(b.branchId).padEnd(30)}${String(b.node ?? "-").padEnd(27)}${String(b.status).padEnd(10)}${fixed(b.quality).padEnd(9)}${fixed(b.seconds, 2)}` +
          (b.error ? `\n    error: ${b.error}` : ""),
      );
    }
  } else {
    lines.push("", `quality score ${fixed(d.qualityScore)} (threshold ${d.threshold}), revision ${d.revision}, ${d.revisionsLeft} left`);
    lines.push("rubric:", ...Object.entries(d.rubric as Record<string, string>).map(([k, v]) => `  ${k}: ${v}`));
    for (const [title, synthesis] of [["research", d.research], ["analysis", d.analysis]] as const) {
      lines.push("", `${title}: ${synthesis.summary}`);
      for (const f of synthesis.primaryFindings as any[]) lines.push(`  - ${f.statement} [${f.sources.join(", ")}]`);
      const attribution = Object.entries(synthesis.sourceAttribution as Record<string, number>)
        .map(([s, w]) => `${s} ${(w * 100).toFixed(0)}%`)
        .join(", ");
      if (attribution) lines.push(`  attribution: ${attribution}`);
    }
    if ((d.missingBranches as string[]).length) lines.push("", `missing: ${(d.missingBranches as string[]).join(", ")}`);
  }
  return lines;
}

/**
 * Asks the reviewer in the terminal. Resolves undefined on Ctrl-C or end of input,
 * which leaves the thread paused.
 */
export async function promptReview(request: ReviewRequest, reviewer: string): Promise<ReviewDecisionInput | undefined> {
  process.stdout.write(renderReviewRequest(request).join("\n") + "\n\n");
  const rl = readline.createInterface({ input: process.stdin, output: process.stdout });
  const aborted = new AbortController();
  rl.on("SIGINT", () => aborted.abort());
  rl.on("close", () => aborted.abort());
  try {
    for (;;) {
      const answer = (await rl.question("Decision: [a]pprove, [r]eject, [f]eedback? ", { signal: aborted.signal }))
        .trim()
        .toLowerCase();
      if (answer === "a" || answer === "approve") return { action: "approve", reviewer };
      if (answer === "r" || answer === "reject") return { action: "reject", reviewer };
      if (answer === "f" || answer === "feedback") {
        const feedback = (await rl.question("Feedback: ", { signal: aborted.signal })).trim();
        if (feedback) return { action: "feedback", feedback, reviewer };
        process.stdout.write("Feedback must not be empty.\n");
      }
    }
  } catch (error) {
    if (aborted.signal.aborted) return undefined;
    throw error;
  } finally {
    rl.close();
  }
}
