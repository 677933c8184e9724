import { access, readdir } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parse as parseYaml } from "yaml";
import type { z } from "zod";
import { InputError, messageOf } from "../shared/errors.js";
import { readInputFile } from "../shared/input_file.js";
import {
  AdvancedWorkflowSchema,
  ENGINE_WORKFLOW,
  allSteps,
  type Action,
  type AdvancedWorkflow,
  type WorkflowStep,
} from "./definition.js";
import { compileExpression } from "./expressions.js";

/** A definition that cannot run: one line naming the problem and where it is. */
export class DefinitionError extends InputError {
  override name = "DefinitionError";
}

/** Reads a YAML or JSON definition file and checks it; throws DefinitionError. */
export async function loadDefinitionFile(file: string): Promise<AdvancedWorkflow> {
  let text: string;
  try {
    text = await readInputFile("definition", file);
  } catch (error) {
    throw new DefinitionError(messageOf(error));
  }
  try {
    return parseDefinitionText(text);
  } catch (error) {
    if (error instanceof DefinitionError) throw new DefinitionError(`${path.basename(file)}: ${error.message}`);
    throw error;
  }
}

/** The example definitions shipped with the engine, found next to this source file whatever the working directory. */
export const SHIPPED_DEFINITIONS_DIR = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  "../../definitions/enterprise_workflow",
);

/** Where definitions named rather than given are found, in order: ORCHESTRA_WORKFLOWS_DIR when set, then the shipped examples. */
export function workflowsDirs(env: NodeJS.ProcessEnv = process.env): string[] {
  return [...(env.ORCHESTRA_WORKFLOWS_DIR ? [path.resolve(env.ORCHESTRA_WORKFLOWS_DIR)] : []), SHIPPED_DEFINITIONS_DIR];
}

const DEFINITION_EXTENSIONS = [".yaml", ".yml", ".json"];

/** The definition `<name>.yaml`, `.yml` or `.json` in the first folder that has it. */
export async function loadNamedDefinition(
  name: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<AdvancedWorkflow> {
  if (!/^[A-Za-z0-9_-]+$/.test(name))
    throw new DefinitionError(
      `'${name}' is not a workflow name; give a definition or a name of letters, digits, _ and -`,
    );
  const dirs = workflowsDirs(env);
  for (const dir of dirs) {
    for (const ext of DEFINITION_EXTENSIONS) {
      const file = path.join(dir, `${name}${ext}`);
      const exists = await access(file).then(
        () => true,
        () => false,
      );
      if (exists) return loadDefinitionFile(file);
    }
  }
  throw new DefinitionError(
    `no workflow named '${name}' in ${dirs.join(" or ")}; give a definition, or add ${name}.yaml to ${dirs[0]}`,
  );
}

export interface NamedDefinition {
  name: string;
  file: string;
}

/** The definitions runnable by name, the first folder's winning over a shipped one of the same name; sorted by name. */
export async function listNamedDefinitions(env: NodeJS.ProcessEnv = process.env): Promise<NamedDefinition[]> {
  const found = new Map<string, string>();
  for (const dir of workflowsDirs(env)) {
    const files = await readdir(dir).catch(() => [] as string[]);
    for (const file of files.sort()) {
      const ext = path.extname(file);
      const name = path.basename(file, ext);
      if (DEFINITION_EXTENSIONS.includes(ext) && !found.has(name)) found.set(name, path.join(dir, file));
    }
  }
  return [...found].map(([name, file]) => ({ name, file })).sort((a, b) => a.name.localeCompare(b.name));
}

/** Parses YAML (JSON is YAML too) and checks the definition. */
export function parseDefinitionText(text: string): AdvancedWorkflow {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (error) {
    const message = error instanceof Error ? error.message.split("\n")[0] : String(error);
    throw new DefinitionError(`not valid YAML or JSON: ${message}`);
  }
  return checkDefinition(raw);
}

/** Validates a definition given as data: the schema, then the checks across steps. */
export function checkDefinition(raw: unknown): AdvancedWorkflow {
  const parsed = AdvancedWorkflowSchema.safeParse(raw);
  if (!parsed.success) throw new DefinitionError(describeIssue(parsed.error.issues[0]!, raw));
  const workflow = parsed.data;
  const steps = allSteps(workflow.steps);
  checkUniqueIds(steps);
  checkDependencies(workflow.steps);
  checkCycles(workflow.steps);
  for (const step of steps) checkStep(step);
  checkOnFailure(workflow.steps);
  return workflow;
}

/** onFailure goto names another top-level step that does not wait on the one it stands in for, and only one step hands over to it. */
function checkOnFailure(topLevel: WorkflowStep[]): void {
  const byId = new Map(topLevel.map((step) => [step.stepId, step]));
  const targets = new Map<string, string>();
  for (const step of allSteps(topLevel)) {
    const onFailure = step.onFailure;
    if (!onFailure) continue;
    const fail = (problem: string) => {
      throw new DefinitionError(`step '${step.stepId}': onFailure: ${problem}`);
    };
    if (!byId.has(step.stepId)) fail("only top-level steps hand over on failure");
    if (onFailure.then !== "goto") {
      if (onFailure.step) fail("step belongs to then: goto");
      continue;
    }
    const target = onFailure.step === undefined ? undefined : byId.get(onFailure.step);
    if (!target || target === step)
      fail(
        `then: goto needs step: another top-level step; use one of ${[...byId.keys()].filter((id) => id !== step.stepId).join(", ")}`,
      );
    if (target!.dependencies.includes(step.stepId))
      fail(`'${target!.stepId}' stands in for '${step.stepId}', so it cannot depend on it; remove that dependency`);
    if (targets.has(target!.stepId))
      fail(`'${target!.stepId}' already stands in for '${targets.get(target!.stepId)}'; give each its own step`);
    targets.set(target!.stepId, step.stepId);
  }
}

/** The zod issue as "step 'x': field: message", the step found from the issue's path in the raw data. */
function describeIssue(issue: z.core.$ZodIssue, raw: unknown): string {
  let node: unknown = raw;
  let step: string | undefined;
  let rest: PropertyKey[] = issue.path;
  for (let i = 0; i < issue.path.length; i++) {
    node =
      node !== null && typeof node === "object" ? (node as Record<PropertyKey, unknown>)[issue.path[i]!] : undefined;
    const stepId = node !== null && typeof node === "object" ? (node as { stepId?: unknown }).stepId : undefined;
    if (typeof stepId === "string" && typeof issue.path[i] === "number") {
      step = stepId;
      rest = issue.path.slice(i + 1);
    }
  }
  const field = rest.length ? `${rest.join(".")}: ` : "";
  return `${step ? `step '${step}': ` : ""}${field}${issue.message}`;
}

function checkUniqueIds(steps: WorkflowStep[]): void {
  const seen = new Set<string>();
  for (const step of steps) {
    if (seen.has(step.stepId)) throw new DefinitionError(`duplicate step id '${step.stepId}'; step ids must be unique`);
    seen.add(step.stepId);
  }
}

function checkDependencies(topLevel: WorkflowStep[]): void {
  const ids = new Set(topLevel.map((step) => step.stepId));
  for (const step of topLevel) {
    for (const child of step.parallelSteps) {
      if (!["sequential", "worker", "react"].includes(child.stepType) || !child.action) {
        throw new DefinitionError(
          `step '${child.stepId}': a child of '${step.stepId}' must be a sequential, worker or react step with an action`,
        );
      }
    }
    for (const dependency of step.dependencies) {
      if (!ids.has(dependency)) {
        throw new DefinitionError(
          `step '${step.stepId}' depends on unknown step '${dependency}'; name a top-level step`,
        );
      }
    }
    for (const child of step.parallelSteps) {
      if (child.dependencies.length || child.conditions.length) {
        throw new DefinitionError(
          `step '${child.stepId}': a child of '${step.stepId}' runs alongside its siblings; move its dependencies and conditions to '${step.stepId}'`,
        );
      }
    }
  }
}

/** The first dependency cycle in the order steps are listed, as its step ids with the first repeated; undefined if none. */
export function findCycle(steps: readonly Pick<WorkflowStep, "stepId" | "dependencies">[]): string[] | undefined {
  const byId = new Map(steps.map((step) => [step.stepId, step]));
  const state = new Map<string, "visiting" | "done">();
  const trail: string[] = [];
  const visit = (id: string): string[] | undefined => {
    if (state.get(id) === "done") return undefined;
    if (state.get(id) === "visiting") return [...trail.slice(trail.indexOf(id)), id];
    state.set(id, "visiting");
    trail.push(id);
    for (const dependency of byId.get(id)?.dependencies ?? []) {
      const cycle = visit(dependency);
      if (cycle) return cycle;
    }
    trail.pop();
    state.set(id, "done");
    return undefined;
  };
  for (const step of steps) {
    const cycle = visit(step.stepId);
    if (cycle) return cycle;
  }
  return undefined;
}

function checkCycles(topLevel: WorkflowStep[]): void {
  const cycle = findCycle(topLevel);
  // Found by following dependencies, so the cycle reads against them: "a → b" is "a runs after b".
  if (cycle) throw new DefinitionError(`cycle: ${cycle.reverse().join(" → ")}; remove one of these dependencies`);
}

function checkExpression(step: WorkflowStep, what: string, text: string): void {
  try {
    compileExpression(text);
  } catch (error) {
    throw new DefinitionError(`step '${step.stepId}': bad ${what} '${text}': ${(error as Error).message}`);
  }
}

function checkActionExpressions(step: WorkflowStep, what: string, action: Action): void {
  if ("set" in action)
    for (const [key, text] of Object.entries(action.set)) checkExpression(step, `${what}set.${key}`, text);
  if ("webhook" in action) {
    for (const [key, text] of Object.entries(action.webhook.payload ?? {}))
      checkExpression(step, `${what}webhook.payload.${key}`, text);
  }
}

function checkStep(step: WorkflowStep): void {
  for (const condition of step.conditions) checkExpression(step, "condition", condition);
  for (const condition of step.requiredFor) checkExpression(step, "requiredFor", condition);
  step.rollbackActions.forEach((action, i) => checkActionExpressions(step, `rollbackActions[${i}].`, action));
  step.errorHandlers.forEach((action, i) => checkActionExpressions(step, `errorHandlers[${i}].`, action));
  if (step.loopCondition !== undefined) checkExpression(step, "loopCondition", step.loopCondition);
  for (const [key, text] of Object.entries(step.inputMapping)) checkExpression(step, `inputMapping.${key}`, text);
  for (const [key, text] of Object.entries(step.outputMapping)) checkExpression(step, `outputMapping.${key}`, text);
  if (step.action) checkActionExpressions(step, "", step.action);

  const fail = (problem: string) => {
    throw new DefinitionError(`step '${step.stepId}': ${problem}`);
  };
  const hasChildren = step.parallelSteps.length > 0;
  switch (step.stepType) {
    case "parallel":
      if (step.action) fail("a parallel step runs its parallelSteps; move the action into a child step");
      break;
    case "orchestrator":
      if (!step.action || !("llm" in step.action))
        fail('an orchestrator step needs an {llm: "..."} action that asks for the subtasks');
      if (step.parallelSteps.length !== 1 || step.parallelSteps[0]!.stepType !== "worker") {
        fail(
          "an orchestrator step needs exactly one parallelSteps entry, of stepType worker: the work for each subtask",
        );
      }
      break;
    case "conditional":
      if (!step.conditions.length) fail("a conditional step needs conditions");
      break;
    case "loop":
      if (!step.action) fail("a loop step needs an action to repeat");
      break;
    case "react":
      if (!step.action || !("react" in step.action)) fail("a react step needs a {react: {prompt, tools}} action");
      break;
    case "webhook":
      if (!step.action || !("webhook" in step.action)) fail("a webhook step needs a {webhook: {endpoint}} action");
      break;
    case "subworkflow":
      if (step.action) fail("a subworkflow step runs its child; remove the action");
      if (!step.subworkflow)
        fail(
          "a subworkflow step needs subworkflow: {workflow} (a registered workflow) or {definition} (a named definition)",
        );
      break;
    case "map":
      if (step.action) fail("a map step runs a child per item; remove the action");
      if (!step.map) fail("a map step needs map: {items: <CEL list>}, the list with one child per item");
      if (!step.subworkflow) fail("a map step needs subworkflow: {workflow} or {definition}, the child each item runs");
      break;
    case "human_approval":
    case "rollback":
      if (step.action) fail(`a ${step.stepType} step has no action; remove it`);
      break;
    default:
      break;
  }
  if (step.action && "webhook" in step.action && step.stepType !== "webhook")
    fail("a webhook action belongs in a webhook step, or in rollbackActions and errorHandlers");
  if ((step.approvers.length || step.requiredFor.length) && step.stepType !== "human_approval") {
    fail("approvers and requiredFor belong to human_approval steps");
  }
  if (step.subworkflow && step.stepType !== "subworkflow" && step.stepType !== "map")
    fail("subworkflow belongs to subworkflow and map steps");
  if (step.map && step.stepType !== "map") fail("map belongs to map steps");
  if (step.map) checkExpression(step, "map.items", step.map.items);
  if (step.stepType === "wait_event" && (!step.waitEvent || step.action))
    fail("a wait_event step needs waitEvent: {correlationKey} and no action");
  if (step.waitEvent && step.stepType !== "wait_event") fail("waitEvent belongs to wait_event steps");
  if (step.waitEvent) {
    checkExpression(step, "waitEvent.correlationKey", step.waitEvent.correlationKey);
    if (step.waitEvent.filter !== undefined) checkExpression(step, "waitEvent.filter", step.waitEvent.filter);
  }
  if (step.subworkflow) {
    const { workflow, definition } = step.subworkflow;
    if (workflow === ENGINE_WORKFLOW && !definition)
      fail("an enterprise_workflow child needs subworkflow.definition: the name of the definition it runs");
    if (workflow !== ENGINE_WORKFLOW && definition)
      fail(`subworkflow.definition names an engine definition; ${workflow} takes none`);
  }
  if (hasChildren && step.stepType !== "parallel" && step.stepType !== "orchestrator") {
    fail(`only parallel and orchestrator steps have parallelSteps, not ${step.stepType}`);
  }
}
