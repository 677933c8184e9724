import type { StateSnapshot } from "@langchain/langgraph";
import { z } from "zod";
import { SettingsSchema } from "./configuration.js";
import { WorkflowInputSchema } from "./input.js";
import { REVIEW_POINTS } from "../shared/review.js";
import type { WorkflowStateType } from "./workflow.js";

/**
 * What the LangGraph server shows API clients and Studio of the graph's input, state
 * and output (GET /assistants/{id}/schemas). The state's channels stay declared once,
 * in workflow.ts; these schemas describe them for forms and viewers.
 *
 * Every nested record here is loose: it names and types the fields a client reads, and lets
 * any value the nodes write pass through unchanged. The view describes the served graph's
 * state; the nodes do not run with it as their state schema (LangGraph would check every
 * update against it, at a quarter of a run's CPU: docs/decisions/0032).
 */

/** Studio's input form: the task. The `settings` key is how the CLI checkpoints its flags, not a field for people. */
export const PublicWorkflowInputSchema = WorkflowInputSchema.omit({ settings: true }).loose();

const record = (description: string) => z.looseObject({}).describe(description);
const byId = (description: string) => z.record(z.string(), z.looseObject({})).describe(description);
const list = (description: string) => z.array(z.looseObject({})).describe(description);

export const WorkflowStateViewSchema = z.object({
  messages: z.array(z.unknown()).describe("The task as the workflow read it, and its plan"),
  task: z.string().optional().describe("The task as text, when the run was given one"),
  taskQueue: WorkflowInputSchema.shape.taskQueue.unwrap().describe("The tasks the workflow works on"),
  activeBranches: byId("Each planned branch by id: objective, node, attempt, resources"),
  completedBranches: byId("Each branch's latest result by id: status, findings, performance, error"),
  syncPoints: z.record(z.string(), z.array(z.string())).describe("Each sync point's required branch ids"),
  branchDependencies: z.record(z.string(), z.array(z.string())).describe("Branch ids each branch waits for"),
  executionTimeline: list("Every event, oldest first: analysis, waves, branch results, reviews, validation"),
  workflowMode: z.enum(["parallel", "sequential", "adaptive"]).optional().describe("How branches are scheduled"),
  waveWidth: z.number().describe("The most branches one wave dispatches"),
  wavesDispatched: z.number().describe("Waves dispatched so far"),
  loadBalancingMetrics: z.record(z.string(), z.number()).describe("Complexity, interdependency, headroom, retries"),
  workflowId: z.string().describe("The thread the workflow runs on"),
  checkpointData: record("Wave counter"),
  monitoringMetrics: record("Start and end times, the model, totals"),
  settings: SettingsSchema.partial().loose().optional().describe("The settings the thread runs under"),
  synchronizationStatus: record("The latest sync decision's progress").optional(),
  nextCoordinationAction: z.string().optional().describe("Where the workflow routes next"),
  integrationResult: record("The merged research and analysis syntheses").optional(),
  mergePerformance: record("Success rate and quality distribution of the merge").optional(),
  qualityReport: record("The validator's score, judge's rubric, route and reason").optional(),
  finalReport: z.string().optional().describe("The final report in markdown"),
  retryCounts: z.record(z.string(), z.number()).describe("Retries issued per branch"),
  revisionCount: z.number().describe("Revision rounds run"),
  reviewDecisions: z
    .array(z.looseObject({ point: z.enum(REVIEW_POINTS), action: z.enum(["approve", "reject", "feedback"]) }))
    .describe("Review decisions, oldest first"),
  status: z
    .enum(["running", "completed", "failed", "rejected", "interrupted"])
    .describe("interrupted: paused at a review point; failed also when a node failed and the run stopped"),
  failureReason: z.string().optional().describe("Why the workflow failed or was rejected"),
});

export type ServedStatus = z.infer<typeof WorkflowStateViewSchema>["status"];

type SnapshotLike = Pick<StateSnapshot, "values" | "tasks">;

/**
 * The thread's status as a client should read it. The state's own `status` is written by
 * the nodes, and a node cannot write while it waits for a review or after it throws: a
 * paused or failed thread would still say "running". What its checkpoint waits on tells.
 */
export function servedStatus(snapshot: SnapshotLike): ServedStatus {
  const stored = (snapshot.values as Partial<WorkflowStateType>).status;
  if (stored !== undefined && stored !== "running") return stored;
  if (snapshot.tasks.some((task) => task.interrupts.length > 0)) return "interrupted";
  if (snapshot.tasks.some((task) => task.error !== undefined && task.error !== null)) return "failed";
  return "running";
}

/** The snapshot with its `status` as servedStatus reads it; a thread with no state yet is left alone. */
export function withServedStatus<T extends SnapshotLike>(snapshot: T): T {
  const values = snapshot.values as Partial<WorkflowStateType>;
  if (values === null || typeof values !== "object" || values.status === undefined) return snapshot;
  return { ...snapshot, values: { ...values, status: servedStatus(snapshot) } };
}
