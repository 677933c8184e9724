import { Annotation } from "@langchain/langgraph";
import type { IntegrationResult, MergePerformance, QualityReport, SynchronizationStatus } from "./merge.js";
import type { ReviewDecision } from "./review.js";

/** A channel's reducers: merge records by id, append to a list, or keep the latest value. */
export const mergeById = <T>(current: Record<string, T>, update: Record<string, T>): Record<string, T> => ({
  ...current,
  ...update,
});
export const append = <T>(current: T[], update: T | T[]): T[] => current.concat(update);
export const replace = <T>(_: T, update: T): T => update;

export type RunStatus = "running" | "completed" | "failed" | "rejected";

/**
 * The channels the shared steps (nodes/shared: synchronisation, merge, validation, review, final
 * report) read and write, declared once: every workflow that runs them spreads these into its
 * Annotation.Root, so they have one name, one reducer and one default wherever they run.
 */
export const sharedStepChannels = {
  synchronizationStatus: Annotation<SynchronizationStatus | undefined>({ reducer: replace, default: () => undefined }),
  integrationResult: Annotation<IntegrationResult | undefined>({ reducer: replace, default: () => undefined }),
  mergePerformance: Annotation<MergePerformance | undefined>({ reducer: replace, default: () => undefined }),
  qualityReport: Annotation<QualityReport | undefined>({ reducer: replace, default: () => undefined }),
  finalReport: Annotation<string | undefined>({ reducer: replace, default: () => undefined }),
  /** Append-only: a review point returns only its new decision. */
  reviewDecisions: Annotation<ReviewDecision[], ReviewDecision | ReviewDecision[]>({
    reducer: append,
    default: () => [],
  }),
  status: Annotation<RunStatus>({ reducer: replace, default: () => "running" }),
  failureReason: Annotation<string | undefined>({ reducer: replace, default: () => undefined }),
};
