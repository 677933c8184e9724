import { z } from "zod";
import { InputError } from "../shared/errors.js";
import { MergeSynthesisSchema } from "./outputs.js";
import { BranchFindingsSchema } from "../shared/findings.js";
import type { ReviewPoint } from "../shared/review.js";
import { BRANCHES } from "./branches.js";
import { currentResult, type BranchResult, type WorkflowStateType, type WorkflowUpdate } from "./workflow.js";
import { now } from "../shared/time.js";

/**
 * The part of the state a reviewer may edit at each review point: what the next node
 * will judge. At sync_point_manager that is each successful branch's findings; at
 * quality_validator it is the two merged syntheses. Scores, attribution and timings are
 * measurements, not content, so they stay out of reach.
 */
const BranchesEditSchema = z
  .object({
    point: z.literal("sync_point_manager"),
    branches: z.record(z.string(), BranchFindingsSchema.strict()),
  })
  .strict();

const SynthesisEditSchema = MergeSynthesisSchema.strict();
const SynthesesEditSchema = z
  .object({
    point: z.literal("quality_validator"),
    research: SynthesisEditSchema,
    analysis: SynthesisEditSchema,
  })
  .strict();

export type ReviewEdit = z.infer<typeof BranchesEditSchema> | z.infer<typeof SynthesesEditSchema>;

type ReviewableState = Pick<
  WorkflowStateType,
  "activeBranches" | "completedBranches" | "syncPoints" | "integrationResult"
>;

function successfulResults(state: ReviewableState): BranchResult[] {
  const ids = Object.values(state.syncPoints).flat();
  return ids
    .map((id) => currentResult(state, id))
    .filter((r): r is BranchResult => r?.status === "success" && !!r.results);
}

/** The document a reviewer edits: plain JSON, the same shape the edit is checked against. */
export function reviewableState(point: ReviewPoint, state: ReviewableState): ReviewEdit {
  if (point === "sync_point_manager") {
    return { point, branches: Object.fromEntries(successfulResults(state).map((r) => [r.branchId, r.results!])) };
  }
  const merged = state.integrationResult;
  if (!merged) throw new Error("quality_validator review without a merged result");
  const pick = ({ summary, primaryFindings, supportingEvidence }: z.infer<typeof SynthesisEditSchema>) => ({
    summary,
    primaryFindings,
    supportingEvidence,
  });
  return { point, research: pick(merged.researchSynthesis), analysis: pick(merged.analysisSynthesis) };
}

/**
 * Checks an edited document against the thread and turns it into a state update,
 * attributed to the node whose edge leads into the review point: LangGraph then
 * schedules the reviewed node again, and it asks for a decision on the edited state.
 * Throws InputError, having changed nothing, when the edit does not fit.
 */
export function reviewEditUpdate(
  point: ReviewPoint,
  state: ReviewableState,
  raw: unknown,
  reviewer = "anonymous",
): { update: WorkflowUpdate; asNode: string; changed: boolean } {
  const schema = point === "sync_point_manager" ? BranchesEditSchema : SynthesesEditSchema;
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new InputError(
      `the edit does not fit the review at ${point}: ${issue.path.join(".") || "document"}: ${issue.message}`,
    );
  }
  const edit = parsed.data;
  const before = reviewableState(point, state);
  const changed = JSON.stringify(edit) !== JSON.stringify(before);
  const edited = (keys: string[], of: Record<string, unknown>, from: Record<string, unknown>) =>
    keys.filter((k) => JSON.stringify(of[k]) !== JSON.stringify(from[k]));
  const recorded = (fields: string[]): WorkflowUpdate["executionTimeline"] => [
    { at: now(), event: "state_edited", node: point, reviewer, fields },
  ];

  if (edit.point === "sync_point_manager") {
    const results = new Map(successfulResults(state).map((r) => [r.branchId, r]));
    const unknown = Object.keys(edit.branches).filter((id) => !results.has(id));
    if (unknown.length) {
      throw new InputError(
        `the edit names branches that have no successful result to edit: ${unknown.join(", ")} (editable: ${[...results.keys()].join(", ") || "none"})`,
      );
    }
    const completedBranches = Object.fromEntries(
      Object.entries(edit.branches).map(([id, findings]) => [id, { ...results.get(id)!, results: findings }]),
    );
    // Any branch node leads into sync_point_manager; the first that has a result stands for them.
    const asNode = results.values().next().value?.node ?? BRANCHES[0].node;
    const fields = edited(Object.keys(edit.branches), edit.branches, (before as typeof edit).branches);
    return { update: { completedBranches, executionTimeline: recorded(fields) }, asNode, changed };
  }

  const merged = state.integrationResult!;
  return {
    update: {
      integrationResult: {
        ...merged,
        researchSynthesis: { ...merged.researchSynthesis, ...edit.research },
        analysisSynthesis: { ...merged.analysisSynthesis, ...edit.analysis },
      },
      executionTimeline: recorded(edited(["research", "analysis"], edit, before)),
    },
    asNode: "branch_merger",
    changed,
  };
}
