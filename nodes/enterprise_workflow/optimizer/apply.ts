import {
  ACTION_STEP_TYPES,
  type AdvancedWorkflow,
  type WorkflowStep,
} from "../../../state/enterprise_workflow/definition.js";
import { checkDefinition } from "../../../state/enterprise_workflow/loader.js";
import {
  isApplicable,
  type DefinitionChange,
  type OptimizationRecommendation,
  type WorkflowShape,
} from "../../../metrics/optimizer_analysis.js";

/** Step types a parallel step's child may have: the loader refuses any other. */
const CHILD_TYPES: readonly WorkflowStep["stepType"][] = ["sequential", "worker", "react"];

/** The optimizer's view of a definition: top-level steps, what they wait for, which may be grouped. */
export function shapeOfDefinition(workflow: AdvancedWorkflow): WorkflowShape {
  return {
    name: workflow.name,
    maxParallelSteps: workflow.maxParallelSteps,
    steps: workflow.steps.map((step) => ({
      stepId: step.stepId,
      dependencies: step.dependencies,
      groupable:
        CHILD_TYPES.includes(step.stepType) &&
        ACTION_STEP_TYPES.includes(step.stepType) &&
        step.action !== undefined &&
        step.conditions.length === 0,
      timeoutSeconds: step.timeoutSeconds,
    })),
  };
}

/**
 * The definition with the recommendations' changes made, checked by the loader. A grouped step
 * becomes a child of a new parallel step, placed where the first of them was; steps that waited
 * for any of them wait for the parallel step.
 */
export function applyRecommendations(
  workflow: AdvancedWorkflow,
  recommendations: readonly OptimizationRecommendation[],
): AdvancedWorkflow {
  let steps = workflow.steps.map((step) => ({ ...step }));
  let maxParallelSteps = workflow.maxParallelSteps;
  for (const change of recommendations.filter(isApplicable).flatMap((r) => r.specificChanges)) {
    if (change.action === "set_max_parallel_steps") maxParallelSteps = Math.max(maxParallelSteps, change.to);
    if (change.action === "set_timeout")
      steps = steps.map((step) => (step.stepId === change.step ? { ...step, timeoutSeconds: change.toSeconds } : step));
    if (change.action === "create_parallel_container") {
      const grouped = steps.filter((step) => change.steps.includes(step.stepId));
      if (grouped.length !== change.steps.length)
        throw new Error(
          `the definition no longer has all of ${change.steps.join(", ")}: measure again before applying`,
        );
      const container: WorkflowStep = {
        stepId: change.containerId,
        name: `${grouped.map((step) => step.name).join(" + ")} (side by side)`,
        stepType: "parallel",
        dependencies: grouped[0]!.dependencies,
        conditions: [],
        parallelSteps: grouped.map((step) => ({ ...step, dependencies: [], conditions: [] })),
        maxConcurrent: change.maxConcurrent,
        loopMaxIterations: grouped[0]!.loopMaxIterations,
        timeoutSeconds: Math.max(...grouped.map((step) => step.timeoutSeconds)),
        retryPolicy: {},
        inputMapping: {},
        outputMapping: {},
        rollbackActions: [],
        errorHandlers: [],
        approvers: [],
        requiredFor: [],
      };
      const first = steps.indexOf(grouped[0]!);
      steps = steps.flatMap((step, i) =>
        i === first ? [container] : change.steps.includes(step.stepId) ? [] : [step],
      );
      steps = steps.map((step) => {
        if (!step.dependencies.some((id) => change.steps.includes(id))) return step;
        return {
          ...step,
          dependencies: [
            ...new Set(step.dependencies.map((id) => (change.steps.includes(id) ? change.containerId : id))),
          ],
        };
      });
    }
  }
  return checkDefinition({ ...workflow, steps, maxParallelSteps });
}

/** Every leaf that differs between two definitions, by its path ("steps.fetch.timeoutSeconds"); steps are keyed by stepId. */
export function diffDefinitions(from: unknown, to: unknown, path = ""): DefinitionChange[] {
  const keyed = (value: unknown): unknown => {
    if (
      Array.isArray(value) &&
      value.every(
        (item) =>
          item !== null && typeof item === "object" && typeof (item as { stepId?: unknown }).stepId === "string",
      )
    ) {
      return Object.fromEntries(value.map((item) => [(item as { stepId: string }).stepId, item]));
    }
    return value;
  };
  const a = keyed(from);
  const b = keyed(to);
  const isObject = (value: unknown): value is Record<string, unknown> =>
    value !== null && typeof value === "object" && !Array.isArray(value);
  if (isObject(a) && isObject(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
    return keys.flatMap((key) => diffDefinitions(a[key], b[key], path ? `${path}.${key}` : key));
  }
  if (JSON.stringify(a) === JSON.stringify(b)) return [];
  return [{ path, ...(a === undefined ? {} : { from: a }), ...(b === undefined ? {} : { to: b }) }];
}
