import type { Command } from "commander";
import type { WorkflowCli } from "../../scripts/workflow_cli.js";
import type { WorkflowDefinition, WorkflowStorage } from "../../state/shared/workflow_definition.js";
import type { WorkflowVariants } from "../../metrics/variants.js";
import type { OfflineSkills } from "../../models/offline/skills.js";
import type { WorkflowTrigger } from "../../state/shared/triggers.js";

/** What a workflow's loader is handed by the registry: the other registered workflows, for one that runs them as children. */
export interface WorkflowLoading {
  otherWorkflows(): Promise<WorkflowDefinition[]>;
}

/** A command only one workflow has (scripts/<workflow>/commands/): it declares its options and loads what it runs inside its action. */
export interface WorkflowCommandModule {
  register(program: Command): void;
}

/**
 * Everything the product needs of one workflow, in graphs/<name>/manifest.ts: the registry
 * (graphs/registry.ts) is the list of these, and langgraph.json, the import rules' workflow list
 * and the CLI are checked against it or read from it. Reading a manifest loads no graph: every
 * heavy part is a loader.
 */
export interface WorkflowManifest<Name extends string = string> {
  /** The graph id: the key in langgraph.json, the thread's assistant on the server, the recorded workflow of a thread. */
  name: Name;
  description: string;
  /** The module and export langgraph.json serves, relative to the project root. */
  servedGraph: `./graphs/${string}.ts:graph`;
  /** Its graph's node names (START aside): threads saved before the workflow was recorded are told by them. A test checks them against the graph. */
  nodes: readonly string[];
  /** The graph loader: the full definition, its graph modules loaded here. */
  load(loading: WorkflowLoading): Promise<WorkflowDefinition>;
  /**
   * The input mapping: what a task file or a run request may give, as the graph's input (a bare
   * list of tasks becomes `{taskQueue}`: state/shared/tasks.ts). Applied by the CLI and the server
   * alike before the definition's checkRequest; absent, the input is the graph's as given.
   */
  mapInput?(input: unknown): unknown;
  /** The tables the workflow keeps beside the checkpoints, for `orchestra db` and the server's start: loads no graph. */
  storage?(): Promise<WorkflowStorage>;
  /** For a workflow that runs named variants (the engine's definitions): metrics and the optimizer measure each as a workflow of its own. */
  variants?(): Promise<WorkflowVariants>;
  /** Triggers the workflow declares in its own files (the engine's definitions); graphs/triggers.yaml holds the others'. */
  triggers?(): Promise<WorkflowTrigger[]>;
  /** The offline model's answers to its own structured outputs, by tool name (models/<name>/skills.ts): the model factory loads them. */
  offlineSkills?(): Promise<OfflineSkills>;
  /** Its CLI: the options it adds to run/resume, its thread listing and views (scripts/<name>/cli.ts). */
  cli(): Promise<WorkflowCli>;
  /** The commands only this workflow has, in the order `orchestra --help` lists them. */
  commands?(): Promise<readonly WorkflowCommandModule[]>;
}
