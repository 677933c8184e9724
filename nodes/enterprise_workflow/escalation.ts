import type { WorkflowStep } from "../../state/enterprise_workflow/definition.js";
import { advanceMap } from "./fanout.js";
import { setRecord, settle, type TurnDraft } from "./turn.js";

/** A failed step's onFailure: run it again while retries are left (a map only its failed children), then hand over or leave it failed. */
function onStepFailed(draft: TurnDraft, step: WorkflowStep): boolean {
  const onFailure = step.onFailure!;
  const record = draft.records[step.stepId]!;
  const retries = record.failureRetries ?? 0;
  if (retries < (onFailure.retry ?? 0)) {
    draft.audit.push({
      at: draft.at,
      event: "step_retried",
      stepId: step.stepId,
      detail: `onFailure retry ${retries + 1} of ${onFailure.retry}`,
    });
    if (step.stepType !== "map") {
      setRecord(draft, step.stepId, { status: "PENDING", failureRetries: retries + 1 });
      return true;
    }
    setRecord(draft, step.stepId, { status: "RUNNING", failureRetries: retries + 1 });
    for (const key of record.children ?? []) {
      const status = draft.records[key]?.status;
      if (status === "FAILED" || status === "SKIPPED") setRecord(draft, key, { status: "PENDING" });
    }
    advanceMap(draft, step);
    return true;
  }
  if (onFailure.then !== "goto") return false;
  const target = onFailure.step!;
  setRecord(draft, step.stepId, { fallback: target });
  setRecord(draft, target, { status: "PENDING", standsInFor: step.stepId });
  draft.audit.push({
    at: draft.at,
    event: "step_handed_over",
    stepId: step.stepId,
    detail: `'${target}' stands in for it: ${record.error ?? "failed"}`,
  });
  return true;
}

/**
 * The onFailure phase: each failed step's retry or hand-over, and the stand-ins of steps that
 * settled without failing skipped. Returns whether it changed anything, so steps may be ready.
 */
export function applyOnFailure(draft: TurnDraft): boolean {
  let changed = false;
  for (const step of draft.workflow.steps) {
    const record = draft.records[step.stepId];
    if (!step.onFailure || !record) continue;
    if (record.status === "FAILED" && !record.fallback) {
      changed = onStepFailed(draft, step) || changed;
      continue;
    }
    const target = step.onFailure.step;
    const standIn = target === undefined ? undefined : draft.records[target];
    if (
      (record.status === "COMPLETED" || record.status === "SKIPPED") &&
      target &&
      (standIn?.status ?? "PENDING") === "PENDING" &&
      !standIn?.standsInFor
    ) {
      settle(draft, target, "SKIPPED", { reason: `'${step.stepId}' did not fail` });
      changed = true;
    }
  }
  return changed;
}
