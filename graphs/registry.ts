import type { BaseCheckpointSaver } from "@langchain/langgraph";
import type pg from "pg";
import { type ThreadMarks, threadMarks } from "../checkpoints/threads.js";
import type { OfflineSkills } from "../models/offline/skills.js";
import { InputError } from "../state/shared/errors.js";
import type { ServableGraph, WorkflowDefinition, WorkflowStorage } from "../state/shared/workflow_definition.js";
import { DEFAULT_WORKFLOW as DEFAULT_WORKFLOW_NAME } from "./default_workflow.js";
import { dynamicAgentsManifest } from "./dynamic_agents/manifest.js";
import { enterpriseWorkflowManifest } from "./enterprise_workflow/manifest.js";
import { parallelWorkflowManifest } from "./parallel_workflow/manifest.js";
import type { WorkflowCommandModule, WorkflowManifest } from "./shared/manifest.js";

/**
 * Every workflow the product serves, by name: the list of their manifests, and the only list of
 * them. A new workflow is its folders (graphs/<name>/manifest.ts among them) plus one line here;
 * langgraph.json, the import rules' workflow list (.dependency-cruiser.cjs) and the CLI are
 * checked against it by tests/registry.test.ts. Reading it loads no graph: `orchestra threads`
 * and `--help` import none of them.
 */
export const WORKFLOWS = {
  parallel_workflow: parallelWorkflowManifest,
  dynamic_agents: dynamicAgentsManifest,
  enterprise_workflow: enterpriseWorkflowManifest,
} as const satisfies { [Name in string]: WorkflowManifest<Name> };

export type WorkflowName = keyof typeof WORKFLOWS;

export const DEFAULT_WORKFLOW = DEFAULT_WORKFLOW_NAME satisfies WorkflowName;

export function workflowNames(): WorkflowName[] {
  return Object.keys(WORKFLOWS) as WorkflowName[];
}

const isWorkflowName = (name: string): name is WorkflowName => Object.hasOwn(WORKFLOWS, name);

/** A registered name; a name not in the registry is the user's mistake. */
export function workflowName(name: string): WorkflowName {
  if (!isWorkflowName(name))
    throw new InputError(
      `unknown workflow '${name}': use one of ${workflowNames().join(", ")} ('orchestra workflows' lists them)`,
    );
  return name;
}

/** A registered workflow's full definition, as its manifest loads it. */
export type LoadedDefinition<N extends WorkflowName> = Awaited<ReturnType<(typeof WORKFLOWS)[N]["load"]>>;

/** The manifest of a registered name, as the common contract: every optional part visible. */
export const manifestOf = (name: WorkflowName): WorkflowManifest => WORKFLOWS[name];

/** The full definition of a workflow by name: its graph modules load here. */
export async function loadWorkflow<N extends WorkflowName>(name: N): Promise<LoadedDefinition<N>>;
export async function loadWorkflow(name: string): Promise<WorkflowDefinition>;
export async function loadWorkflow(name: string): Promise<WorkflowDefinition> {
  const registered = workflowName(name);
  const definition = await manifestOf(registered).load({ otherWorkflows: () => otherWorkflows(registered) });
  if (definition.name !== name) throw new Error(`the registry's ${name} loads the definition of ${definition.name}`);
  return definition;
}

/** The input mapping of a workflow's manifest: identity when it has none. */
export function mapWorkflowInput(name: WorkflowName, input: unknown): unknown {
  const { mapInput } = manifestOf(name);
  return mapInput ? mapInput(input) : input;
}

/** Every workflow's own offline skills, for the offline model's set-up (models/index.ts). */
export async function workflowOfflineSkills(): Promise<OfflineSkills[]> {
  return Promise.all(workflowNames().flatMap((name) => manifestOf(name).offlineSkills?.() ?? []));
}

/** The commands only one workflow has, every workflow's, in the registry's order. */
export async function workflowCommandModules(): Promise<WorkflowCommandModule[]> {
  return (await Promise.all(workflowNames().map((name) => manifestOf(name).commands?.() ?? []))).flat();
}

/**
 * A thread's workflow, as threads saved before it was recorded are told: by the nodes its head
 * checkpoint reached. Workflows share node names (the shared steps), so it is the first, in the
 * registry's order, having every one of them. A thread that reached none yet counts as the
 * default workflow's.
 */
export function workflowOfReached(reached: readonly string[]): WorkflowName {
  const nodes = new Set(reached);
  const found = reached.length
    ? workflowNames().find((name) =>
        [...nodes].every((node) => (WORKFLOWS[name].nodes as readonly string[]).includes(node)),
      )
    : undefined;
  return found ?? DEFAULT_WORKFLOW;
}

/**
 * A thread's workflow: the one its checkpoints record (checkpoints/recorded_workflow.ts), else,
 * for a thread saved before they did, the one its reached nodes tell. The CLI, the server and
 * metrics all ask this, and the fallback lives nowhere else.
 */
export function workflowOfThread({ recorded, reached }: ThreadMarks): WorkflowName {
  return recorded !== null && isWorkflowName(recorded) ? recorded : workflowOfReached(reached);
}

/** The workflow of a saved thread; the default workflow's for an id with no checkpoint (its commands then say there is no such thread). */
export async function threadWorkflow(db: { pool: pg.Pool; schema: string }, threadId: string): Promise<WorkflowName> {
  return workflowOfThread((await threadMarks(db.pool, db.schema, threadId)) ?? { recorded: null, reached: [] });
}

/** Every registered workflow but one, loaded: the children a workflow may run. */
export async function otherWorkflows(name: string): Promise<WorkflowDefinition[]> {
  return Promise.all(
    workflowNames()
      .filter((other) => other !== name)
      .map((other) => loadWorkflow(other)),
  );
}

/** Every workflow's own tables, in the registry's order, loading no graph. */
export async function workflowStorages(): Promise<WorkflowStorage[]> {
  return Promise.all(workflowNames().flatMap((name) => manifestOf(name).storage?.() ?? []));
}

/** A workflow as `orchestra serve` serves it. */
export interface ServedGraph {
  graphId: WorkflowName;
  description: string;
  compile(checkpointer: BaseCheckpointSaver): ServableGraph;
  /** The workflow's input mapping (identity when it has none): applied before checkRequest. */
  mapInput(input: unknown): unknown;
  checkRequest: WorkflowDefinition["checkRequest"];
}

/** The workflows `orchestra serve` serves: those whose definition says how. */
export async function servedGraphs(): Promise<ServedGraph[]> {
  const served = await Promise.all(
    workflowNames().map(async (name): Promise<ServedGraph[]> => {
      const definition = await loadWorkflow(name);
      if (!definition.serve) return [];
      const { serve, checkRequest } = definition;
      return [
        {
          graphId: name,
          description: WORKFLOWS[name].description,
          compile: serve,
          mapInput: (input: unknown) => mapWorkflowInput(name, input),
          checkRequest,
        },
      ];
    }),
  );
  return served.flat();
}
