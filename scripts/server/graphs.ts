import type { RunnableConfig } from "@langchain/core/runnables";
import type { BaseCheckpointSaver, StateSnapshot } from "@langchain/langgraph";
import { compileEnterpriseWorkflow } from "../../graphs/enterprise_workflow.js";
import { graph as servedParallelWorkflow } from "../../graphs/parallel_workflow.js";
import { checkRunRequest } from "../../state/parallel_workflow/configuration.js";
import { checkDefinition } from "../../state/enterprise/loader.js";
import { EnterpriseInputSchema } from "../../state/enterprise/state.js";
import { InputError } from "../../state/shared/errors.js";

/** What the server calls on a compiled graph; both workflows' compiled graphs have it. */
export interface ServableGraph {
  stream(input: unknown, options: Record<string, unknown>): Promise<AsyncIterable<unknown>>;
  getState(config: RunnableConfig, options?: { subgraphs?: boolean }): Promise<StateSnapshot>;
  getStateHistory(
    config: RunnableConfig,
    options?: { limit?: number; before?: RunnableConfig; filter?: Record<string, unknown> },
  ): AsyncIterableIterator<StateSnapshot>;
  updateState(config: RunnableConfig, values: unknown, asNode?: string): Promise<RunnableConfig>;
  getGraphAsync(config?: RunnableConfig & { xray?: boolean | number }): Promise<{ toJSON(): unknown }>;
  readonly nodes: Record<string, unknown>;
}

export interface ServedGraph {
  graphId: string;
  description: string;
  compile(checkpointer: BaseCheckpointSaver): ServableGraph;
  /** Throws InputError, with the CLI's one-line message, for a run the graph would refuse. */
  checkRequest(input: unknown, config: { configurable?: Record<string, unknown>; context?: unknown }): void;
}

/**
 * The graphs this server serves. The only place that names them: the workflow registry replaces
 * this list once it exists.
 */
export function servedGraphs(): ServedGraph[] {
  return [
    {
      graphId: "parallel_workflow",
      description: "Parallel multi-agent research: branches fan out, synchronise, merge and pass a quality gate",
      // The served graph carries the API's checks (asNode required, truthful status) that the
      // CLI's compileWorkflow does not; like LangGraph's own server, we give it its checkpointer.
      compile: (checkpointer) => Object.assign(servedParallelWorkflow, { checkpointer }),
      checkRequest: checkRunRequest,
    },
    {
      graphId: "enterprise_workflow",
      description: "The enterprise engine: runs a declarative workflow definition, given or named",
      compile: compileEnterpriseWorkflow,
      checkRequest: (input) => {
        if (input === null || input === undefined) return;
        const parsed = EnterpriseInputSchema.safeParse(input);
        if (!parsed.success) {
          const issue = parsed.error.issues[0]!;
          throw new InputError(`invalid input: ${issue.path.join(".") || "(root)"}: ${issue.message}`);
        }
        // A stored definition is named by a string, checked when the run loads it.
        if (typeof parsed.data.definition !== "string") checkDefinition(parsed.data.definition);
      },
    },
  ];
}
