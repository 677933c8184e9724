import { AsyncLocalStorageProviderSingleton } from "@langchain/core/singletons";
import type { LangGraphRunnableConfig, StateSnapshot } from "@langchain/langgraph";
import { Command, GraphInterrupt, interrupt, isGraphInterrupt } from "@langchain/langgraph";
import type { EnterpriseUpdate, StepRecord } from "../../state/enterprise_workflow/state.js";
import type {
  ChildGraph,
  RunRequestConfig,
  ServableGraph,
  WorkflowSummary,
} from "../../state/shared/workflow_definition.js";
import type { RecoveryItem } from "./recovery.js";
import type { ChildQuestion, SubworkflowTask } from "./tasks.js";
import { ChildCancelledError, executeWithPolicy, outcomeUpdate } from "./workers.js";

/** A graph a detached child runs on: compiled on the parent's checkpointer, a thread of its own. */
export type ThreadGraph = ServableGraph & { invoke(input: unknown, config: Record<string, unknown>): Promise<unknown> };

/** A registered workflow as a subworkflow step runs it, in either mode. */
export interface ChildRunner {
  workflow: string;
  /** Inline: runs inside the calling node, checkpointed in the parent's thread under the node's namespace. */
  subgraph: ChildGraph;
  /** Detached: the workflow on a thread of its own; undefined where the engine was compiled without a checkpointer. */
  threadGraph(): ThreadGraph | undefined;
  checkRequest(input: unknown, config: RunRequestConfig): void;
  summarise(values: Record<string, unknown>): WorkflowSummary;
  /** A finished engine child's compensations, for its parent's rollback to run; other workflows have none. */
  compensations?(values: Record<string, unknown>): RecoveryItem[];
}

/** What the parent keeps of a finished child: its standing, and an engine child's final result. */
export interface ChildResult {
  workflow: string;
  mode: SubworkflowTask["mode"];
  thread?: string;
  status: string;
  qualityScore: number | null;
  report: string | null;
  result: unknown;
  /** Run by the parent's rollback, before its own steps' (recovery.ts). */
  compensations?: RecoveryItem[];
}

/**
 * A detached child's thread: named after its parent's thread and step, so a resumed parent finds
 * the same child and the child's id names its parent (the parent's step record names the child).
 */
export const childThreadId = (parentThread: string, key: string) =>
  `${parentThread}.child.${key.replace(/[^A-Za-z0-9_.-]/g, "-")}`;

/** The threads a detached child's thread descends from, its parent's first: read back from childThreadId's names. */
export function ancestorThreads(threadId: string): string[] {
  const ancestors: string[] = [];
  for (let at = threadId.lastIndexOf(".child."); at > 0; at = threadId.lastIndexOf(".child.", at - 1))
    ancestors.push(threadId.slice(0, at));
  return ancestors;
}

/** A child's values as the parent keeps them; throws when the child did not complete, so the step's retry policy applies. */
export function childResult(
  runner: Pick<ChildRunner, "workflow" | "summarise" | "compensations">,
  task: Pick<SubworkflowTask, "mode">,
  values: Record<string, unknown>,
  thread?: string,
): ChildResult {
  const summary = runner.summarise(values);
  if (summary.status.toLowerCase() !== "completed") {
    const errors = Array.isArray(values.errors) ? (values.errors as { message?: unknown }[]) : [];
    const reason =
      summary.failureReason ?? errors.map((error) => String(error.message ?? "")).at(-1) ?? "no reason given";
    const message = `${runner.workflow} child ended ${summary.status}: ${reason}`;
    throw summary.status.toUpperCase() === "CANCELLED" ? new ChildCancelledError(message) : new Error(message);
  }
  return {
    workflow: runner.workflow,
    mode: task.mode,
    ...(thread ? { thread } : {}),
    status: summary.status,
    qualityScore: summary.qualityScore,
    report: summary.report,
    result: values.finalResult ?? null,
    ...(runner.compensations ? { compensations: runner.compensations(values) } : {}),
  };
}

const askedBy = (
  task: SubworkflowTask,
  request: unknown,
  detail: Pick<ChildQuestion, "thread" | "interruptId"> = {},
): ChildQuestion => ({
  kind: "child",
  stepId: task.key,
  workflow: task.workflow,
  mode: task.mode,
  ...detail,
  request,
});

/**
 * Inline: the child graph runs in this node's namespace of the parent's thread. Its interrupt
 * travels up as the parent's, named after the step; a resume of the parent reaches the child,
 * which goes on from its own checkpoint.
 */
async function runInline(
  runner: ChildRunner,
  task: SubworkflowTask,
  config: LangGraphRunnableConfig,
  signal: AbortSignal,
): Promise<ChildResult> {
  runner.checkRequest(task.input, {});
  try {
    const values = await runner.subgraph.invoke(task.input, { ...config, signal });
    return childResult(runner, task, values as Record<string, unknown>);
  } catch (error) {
    if (isGraphInterrupt(error))
      throw new GraphInterrupt(
        error.interrupts.map((pending) => ({ ...pending, value: askedBy(task, pending.value) })),
      );
    throw error;
  }
}

const waitingInterrupt = (snapshot: StateSnapshot) => snapshot.tasks.flatMap((pending) => pending.interrupts)[0];

/** A detached child that stopped to ask: the question, for the parent to ask in its turn. */
type DetachedOutcome = { done: ChildResult } | { asks: ChildQuestion };

/**
 * Outside the calling node's context: LangGraph reads the ambient config of the running node, and
 * a graph invoked within it would run as that node's subgraph rather than on its own thread.
 */
const outsideParent = <T>(work: () => Promise<T>): Promise<T> =>
  AsyncLocalStorageProviderSingleton.getInstance().run(undefined, work);

/**
 * Detached: the child runs on its own thread. Started once; resumed where it stopped after a
 * crash of the parent; given the parent's answer only while it still waits at the question the
 * answer was for, so a replayed dispatch never answers a later question.
 */
async function runDetached(
  runner: ChildRunner,
  task: SubworkflowTask,
  config: LangGraphRunnableConfig,
  signal: AbortSignal,
  attempt: number,
): Promise<DetachedOutcome> {
  const graph = runner.threadGraph();
  const parentThread = config.configurable?.thread_id;
  if (!graph || typeof parentThread !== "string")
    throw new Error("a detached child needs the parent on a checkpointer; run the step inline");
  const thread = childThreadId(parentThread, task.key);
  const model = config.configurable?.model;
  const childConfig = {
    configurable: { thread_id: thread, ...(typeof model === "string" ? { model } : {}) },
    signal,
  };
  const before = await graph.getState(childConfig);
  const waiting = waitingInterrupt(before);
  if (!before.createdAt || (attempt > 1 && !before.next.length)) {
    runner.checkRequest(task.input, {});
    await graph.invoke(task.input, childConfig);
  } else if (waiting && task.answer && task.answer.interruptId === waiting.id) {
    await graph.invoke(new Command({ resume: task.answer.value }), childConfig);
  } else if (!waiting && before.next.length) {
    await graph.invoke(null, childConfig);
  }
  const after = await graph.getState(childConfig);
  const asks = waitingInterrupt(after);
  if (asks) return { asks: askedBy(task, asks.value, { thread, ...(asks.id ? { interruptId: asks.id } : {}) }) };
  return { done: childResult(runner, task, after.values as Record<string, unknown>, thread) };
}

/**
 * The node for one registered workflow's children: the child under the step's timeout and retry
 * policy, its outcome recorded as a step's. A detached child's question is asked here, on the
 * parent; the answer goes back through the orchestrator, which sends it to the child.
 */
export function createChildNode(runner: ChildRunner) {
  return async (task: SubworkflowTask, config: LangGraphRunnableConfig): Promise<EnterpriseUpdate> => {
    let attempt = 0;
    const execution = await executeWithPolicy(task, async (signal): Promise<DetachedOutcome> => {
      attempt++;
      if (task.mode === "inline") return { done: await runInline(runner, task, config, signal) };
      return outsideParent(() => runDetached(runner, task, config, signal, attempt));
    });
    const outcome = execution.value;
    if (outcome && "asks" in outcome) {
      const answer: unknown = interrupt(outcome.asks);
      const at = new Date().toISOString();
      return {
        steps: {
          [task.key]: {
            status: "PENDING",
            ...(outcome.asks.thread ? { thread: outcome.asks.thread } : {}),
            answer: { interruptId: outcome.asks.interruptId ?? "", value: answer },
          },
        },
        auditTrail: [
          {
            at,
            event: "child_answered",
            stepId: task.key,
            detail: `${task.workflow} child on ${outcome.asks.thread ?? "its own thread"}`,
          },
        ],
      };
    }
    const done = outcome && "done" in outcome ? outcome.done : undefined;
    const update = outcomeUpdate(
      { ...task, role: "step" },
      done ? { ...execution, value: done } : execution,
      Date.now(),
    );
    const thread =
      done?.thread ??
      (task.mode === "detached" && typeof config.configurable?.thread_id === "string"
        ? childThreadId(config.configurable.thread_id, task.key)
        : undefined);
    return thread
      ? {
          ...update,
          steps: { [task.key]: { ...(update.steps as Record<string, Partial<StepRecord>>)[task.key], thread } },
        }
      : update;
  };
}
