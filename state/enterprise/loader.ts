import { access, readFile } from "node:fs/promises";
import path from "node:path";
import { parse as parseYaml } from "yaml";
import type { z } from "zod";
import { InputError } from "../input.js";
import { AdvancedWorkflowSchema, allSteps, type AdvancedWorkflow, type WorkflowStep } from "./definition.js";
import { compileExpression } from "./expressions.js";

/** A definition that cannot run: one line naming the problem and where it is. */
export class DefinitionError extends InputError {
  override name = "DefinitionError";
}

/** Reads a YAML or JSON definition file and checks it; throws DefinitionError. */
export async function loadDefinitionFile(file: string): Promise<AdvancedWorkflow> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new DefinitionError(`${file}: cannot read the definition (${code ?? "unreadable"}); check the path`);
  }
  try {
    return parseDefinitionText(text);
  } catch (error) {
    if (error instanceof DefinitionError) throw new DefinitionError(`${path.basename(file)}: ${error.message}`);
    throw error;
  }
}

/** Where definitions named rather than given are found: ORCHESTRA_WORKFLOWS_DIR, else ./workflows. */
export function workflowsDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.resolve(env.ORCHESTRA_WORKFLOWS_DIR || "workflows");
}

/** The definition `<name>.yaml`, `.yml` or `.json` in the workflows folder. */
export async function loadNamedDefinition(name: string, env: NodeJS.ProcessEnv = process.env): Promise<AdvancedWorkflow> {
  if (!/^[A-Za-z0-9_-]+$/.test(name)) throw new DefinitionError(`'${name}' is not a workflow name; give a definition or a name of letters, digits, _ and -`);
  const dir = workflowsDir(env);
  for (const ext of [".yaml", ".yml", ".json"]) {
    const file = path.join(dir, `${name}${ext}`);
    const exists = await access(file).then(
      () => true,
      () => false,
    );
    if (exists) return loadDefinitionFile(file);
  }
  throw new DefinitionError(`no workflow named '${name}' in ${dir}; give a definition, or add ${name}.yaml there`);
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
  return workflow;
}

/** The zod issue as "step 'x': field: message", the step found from the issue's path in the raw data. */
function describeIssue(issue: z.core.$ZodIssue, raw: unknown): string {
  let node: unknown = raw;
  let step: string | undefined;
  let rest: PropertyKey[] = issue.path;
  for (let i = 0; i < issue.path.length; i++) {
    node = node !== null && typeof node === "object" ? (node as Record<PropertyKey, unknown>)[issue.path[i]!] : undefined;
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
        throw new DefinitionError(`step '${step.stepId}' depends on unknown step '${dependency}'; name a top-level step`);
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

function checkStep(step: WorkflowStep): void {
  for (const condition of step.conditions) checkExpression(step, "condition", condition);
  if (step.loopCondition !== undefined) checkExpression(step, "loopCondition", step.loopCondition);
  for (const [key, text] of Object.entries(step.inputMapping)) checkExpression(step, `inputMapping.${key}`, text);
  for (const [key, text] of Object.entries(step.outputMapping)) checkExpression(step, `outputMapping.${key}`, text);
  if (step.action && "set" in step.action) {
    for (const [key, text] of Object.entries(step.action.set)) checkExpression(step, `set.${key}`, text);
  }

  const fail = (problem: string) => {
    throw new DefinitionError(`step '${step.stepId}': ${problem}`);
  };
  const hasChildren = step.parallelSteps.length > 0;
  switch (step.stepType) {
    case "parallel":
      if (step.action) fail("a parallel step runs its parallelSteps; move the action into a child step");
      break;
    case "orchestrator":
      if (!step.action || !("llm" in step.action)) fail('an orchestrator step needs an {llm: "..."} action that asks for the subtasks');
      if (step.parallelSteps.length !== 1 || step.parallelSteps[0]!.stepType !== "worker") {
        fail("an orchestrator step needs exactly one parallelSteps entry, of stepType worker: the work for each subtask");
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
    default:
      break;
  }
  if (hasChildren && step.stepType !== "parallel" && step.stepType !== "orchestrator") {
    fail(`only parallel and orchestrator steps have parallelSteps, not ${step.stepType}`);
  }
}
