import type { WorkflowStep } from "../../state/enterprise_workflow/definition.js";
import { evaluateExpression } from "../../state/enterprise_workflow/expressions.js";
import type { MapSpec } from "../../state/enterprise_workflow/fanout.js";
import type { StepStatus } from "../../state/enterprise_workflow/state.js";
import { childrenToStart, isSettled } from "./decisions.js";
import { baseScope, budget, dispatch, scopeFor, setRecord, settle, subworkflowTask, type TurnDraft } from "./turn.js";

/** A map step's children: one per item of its list, each a subworkflow run of the step's child. */

/** Whether `failed` of `total` children is within the map's tolerances; with none given, no failure is. */
export function failureTolerated(
  failed: number,
  total: number,
  spec: Pick<MapSpec, "toleratedFailureCount" | "toleratedFailurePercentage">,
): boolean {
  const { toleratedFailureCount: count, toleratedFailurePercentage: percentage } = spec;
  if (count === undefined && percentage === undefined) return failed === 0;
  if (count !== undefined && failed > count) return false;
  return percentage === undefined || total === 0 || (failed * 100) / total <= percentage;
}

export type MapDecision = "continue" | "completed" | "failed";

/** Fails as soon as the failures pass a tolerance (children not started stay so); completes once every child settled. */
export function mapDecision(statuses: readonly StepStatus[], spec: MapSpec): MapDecision {
  const failed = statuses.filter((status) => status === "FAILED").length;
  if (!failureTolerated(failed, statuses.length, spec)) return "failed";
  return statuses.every((status) => isSettled({ status })) ? "completed" : "continue";
}

const toleranceText = (spec: MapSpec) =>
  [
    spec.toleratedFailureCount !== undefined ? `toleratedFailureCount ${spec.toleratedFailureCount}` : "",
    spec.toleratedFailurePercentage !== undefined
      ? `toleratedFailurePercentage ${spec.toleratedFailurePercentage}`
      : "",
  ]
    .filter(Boolean)
    .join(", ") || "no failure tolerated";

/** The map's output: counts, and each child's item with its result or error, in item order. */
function mapOutput(draft: TurnDraft, children: readonly string[]) {
  const results = children.map((key, index) => {
    const record = draft.records[key]!;
    const outcome =
      record.status === "COMPLETED"
        ? { output: draft.state.intermediateResults[key] ?? null }
        : record.error
          ? { error: record.error }
          : {};
    return { index, item: record.item ?? null, status: record.status, ...outcome };
  });
  const succeeded = results.filter((result) => result.status === "COMPLETED").length;
  const failed = results.filter((result) => result.status === "FAILED").length;
  return { total: children.length, succeeded, failed, results };
}

function settleMap(
  draft: TurnDraft,
  step: WorkflowStep,
  children: readonly string[],
  decision: Exclude<MapDecision, "continue">,
): void {
  const output = mapOutput(draft, children);
  const summary = `${output.succeeded} of ${output.total} children succeeded, ${output.failed} failed`;
  if (decision === "failed") {
    for (const key of children)
      if (draft.records[key]?.status === "PENDING")
        settle(draft, key, "SKIPPED", { reason: `map step '${step.stepId}' failed first` });
    return settle(
      draft,
      step.stepId,
      "FAILED",
      { error: `${summary}: over the tolerance (${toleranceText(step.map!)})` },
      output,
    );
  }
  const scope = { ...draft.state.context, ...draft.context, output };
  const mapped = Object.fromEntries(
    Object.entries(step.outputMapping).map(([name, text]) => [name, evaluateExpression(text, scope)]),
  );
  Object.assign(draft.context, mapped);
  settle(draft, step.stepId, "COMPLETED", { reason: summary }, output);
}

/** A running map: settle it when the decision says so, else start the pending children its limits allow. */
export function advanceMap(draft: TurnDraft, step: WorkflowStep): void {
  const spec = step.map!;
  const children = draft.records[step.stepId]!.children ?? [];
  const decision = mapDecision(
    children.map((key) => draft.records[key]?.status ?? "PENDING"),
    spec,
  );
  if (decision !== "continue") return settleMap(draft, step, children, decision);
  const pending = children.filter((key) => draft.records[key]?.status === "PENDING");
  let settledAtStart = false;
  for (const key of pending.slice(
    0,
    childrenToStart(pending.length, step.maxConcurrent, draft.workflow.maxParallelSteps, budget(draft)),
  )) {
    const index = children.indexOf(key);
    try {
      const scope = scopeFor(draft, step, step, { [spec.itemName]: draft.records[key]!.item, index });
      setRecord(draft, key, { status: "RUNNING", startedAt: draft.at });
      // The map's outputMapping reads every child's output once all settled; a child's own sets nothing.
      dispatch(draft, { ...subworkflowTask(draft, step, key, scope), outputMapping: {} });
    } catch (error) {
      settle(draft, key, "FAILED", { error: (error as Error).message });
      settledAtStart = true;
    }
  }
  if (settledAtStart) advanceMap(draft, step);
}

/** Starts a map: its list evaluated once and kept, one PENDING child per item, then the first children. */
export function startMap(draft: TurnDraft, step: WorkflowStep): void {
  const spec = step.map!;
  const items: unknown = evaluateExpression(spec.items, baseScope(draft, step));
  if (!Array.isArray(items))
    throw new Error(`map.items '${spec.items}' gave ${items === null ? "null" : typeof items}, not a list`);
  const children = items.map((_, i) => `${step.stepId}#${i + 1}`);
  setRecord(draft, step.stepId, { status: "RUNNING", startedAt: draft.at, items, children });
  draft.startedNow.push(step.stepId);
  children.forEach((key, i) => setRecord(draft, key, { status: "PENDING", item: items[i] }));
  advanceMap(draft, step);
}
