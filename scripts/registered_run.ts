import type { StateSnapshot } from "@langchain/langgraph";
import type { ServableGraph, WorkflowSummary } from "../state/shared/workflow_definition.js";
import { EXIT, makeOutput, printJson } from "./commands/shared.js";
import type { JsonOption } from "./workflow_cli.js";
import { shellCommand } from "./shell_command.js";

/** What `run` and `resume` print for a workflow driven through its registry definition: a line per step, and the closing lines. */

/** Streams a registered workflow's run (a new input, or a review's resume) with a line per node update. */
export async function streamRegisteredSteps(
  workflow: ServableGraph,
  input: unknown,
  thread: { configurable: Record<string, unknown> },
  line: (text: string) => void,
) {
  for await (const chunk of await workflow.stream(input, { ...thread, streamMode: "updates" })) {
    for (const node of Object.keys(chunk as Record<string, unknown>)) if (node !== "__interrupt__") line(`  ${node} ✓`);
  }
}

/** The review point a thread waits at, if it does. */
export function pendingReviewPoint(snapshot: StateSnapshot): string | null {
  const request = snapshot.tasks.flatMap((task) => task.interrupts).map((i) => i.value as { point?: unknown })[0];
  return typeof request?.point === "string" ? request.point : null;
}

/** The closing lines of a registered workflow's run or resume, and its exit code: a pause for review is no failure. */
export function closeRegisteredRun(
  options: JsonOption,
  outcome: { threadId: string; workflow: string; summary: WorkflowSummary; review: string | null },
): number {
  const { threadId, workflow, summary, review } = outcome;
  const { line } = makeOutput(options);
  if (review)
    line(
      `paused for review at ${review}. Resume with:\n  ${shellCommand("orchestra", "resume", threadId)} --approve | --reject | --feedback "..."`,
    );
  else {
    const quality = summary.qualityScore === null ? "" : `, quality ${summary.qualityScore.toFixed(3)}`;
    line(
      `${summary.status}: thread ${threadId} · workflow ${workflow}${quality}${summary.failureReason ? ` (${summary.failureReason})` : ""}`,
    );
  }
  if (options.json)
    printJson({ threadId, workflow, ...summary, status: review ? "interrupted" : summary.status, reviewPoint: review });
  return review || ["completed", "COMPLETED"].includes(summary.status) ? EXIT.ok : EXIT.failed;
}
