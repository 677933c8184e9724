import { z } from "zod";
import {
  ENGINE_WORKFLOW,
  MAX_SUBWORKFLOW_DEPTH,
  allSteps,
  type AdvancedWorkflow,
  type WorkflowStep,
} from "./definition.js";
import { evaluateExpression } from "./expressions.js";
import { DefinitionError } from "./loader.js";

/** What the load-time checks know of the workflows a step may run as a child. */
export interface ChildCatalog {
  /** Registered workflows by name, with each one's input schema (the engine's own is not listed: its children are definitions). */
  workflows: Record<string, z.ZodType>;
  /** A definition named by a subworkflow step. */
  loadNamed(name: string): Promise<AdvancedWorkflow>;
}

const childSteps = (workflow: AdvancedWorkflow) =>
  allSteps(workflow.steps).filter((step) => step.subworkflow !== undefined);

/** Whether any step runs a child: a definition without one needs no catalog. */
export const hasChildren = (workflow: AdvancedWorkflow) => childSteps(workflow).length > 0;

/** A mapping's value when it reads nothing from the context (a literal, or arithmetic on literals); undefined when it does. */
function constantValue(text: string): { value: unknown } | undefined {
  try {
    return { value: evaluateExpression(text, {}) };
  } catch {
    return undefined;
  }
}

/**
 * A registered child's input mapping against its input schema: every key must be one of its
 * fields, and a value known without the context must have the field's type.
 */
function checkInputMapping(where: string, step: WorkflowStep, workflow: string, schema: z.ZodType): void {
  if (!(schema instanceof z.ZodObject)) return;
  const fields = schema.shape as Record<string, z.ZodType>;
  for (const [key, text] of Object.entries(step.inputMapping)) {
    const field = fields[key];
    if (!field)
      throw new DefinitionError(
        `${where}: inputMapping.${key} is not an input of ${workflow}; use ${Object.keys(fields).join(", ")}`,
      );
    const constant = constantValue(text);
    if (!constant) continue;
    const parsed = field.safeParse(constant.value);
    if (!parsed.success) {
      throw new DefinitionError(
        `${where}: inputMapping.${key} '${text}' gives ${JSON.stringify(constant.value)}, the wrong type for ${workflow}'s ${key}: ${parsed.error.issues[0]!.message}`,
      );
    }
  }
}

/**
 * The checks across definitions, made when a definition loads and before anything is saved:
 * every child is a registered workflow or a named definition that loads, no definition calls
 * itself through others (the path is named), and nesting stays within MAX_SUBWORKFLOW_DEPTH
 * levels, the parent counting as one. Throws DefinitionError, one line.
 */
export async function checkHierarchy(
  workflow: AdvancedWorkflow,
  catalog: ChildCatalog,
  maxDepth = MAX_SUBWORKFLOW_DEPTH,
): Promise<void> {
  if (!hasChildren(workflow)) return;
  const visit = async (definition: AdvancedWorkflow, path: readonly string[]): Promise<void> => {
    for (const step of childSteps(definition)) {
      const child = step.subworkflow!;
      const where = `${path.join(" → ")}: step '${step.stepId}'`;
      const depth = path.length + 1;
      if (child.workflow !== ENGINE_WORKFLOW) {
        const schema = catalog.workflows[child.workflow];
        if (!schema)
          throw new DefinitionError(
            `${where}: unknown workflow '${child.workflow}'; use ${[...Object.keys(catalog.workflows), ENGINE_WORKFLOW].join(", ")}`,
          );
        if (depth > maxDepth)
          throw new DefinitionError(
            `${where}: ${child.workflow} would run at depth ${depth}, over the limit of ${maxDepth}`,
          );
        checkInputMapping(where, step, child.workflow, schema);
        continue;
      }
      const name = child.definition!;
      if (path.includes(name))
        throw new DefinitionError(
          `cycle between definitions: ${[...path.slice(path.indexOf(name)), name].join(" → ")}; remove one of these subworkflow steps`,
        );
      if (depth > maxDepth)
        throw new DefinitionError(
          `${where}: ${name} would run at depth ${depth}, over the limit of ${maxDepth} (${[...path, name].join(" → ")})`,
        );
      let loaded: AdvancedWorkflow;
      try {
        loaded = await catalog.loadNamed(name);
      } catch (error) {
        throw new DefinitionError(`${where}: ${(error as Error).message}`);
      }
      await visit(loaded, [...path, name]);
    }
  };
  await visit(workflow, [workflow.name]);
}
