import { BaseCallbackHandler } from "@langchain/core/callbacks/base";
import type { BaseMessage } from "@langchain/core/messages";
import type { z } from "zod";
import { createChatModel } from "../models/index.js";
import type { OfflineChatModel, OfflineChatModelCallOptions } from "../models/offline/model.js";

/**
 * Every model call of one run, with its super-step and task, recorded by a LangChain callback:
 * what the critical path and the Promise.all replay are computed from, for any workflow whose
 * nodes call a chat model with one structured-output tool.
 */
export interface TracedCall {
  step: number;
  task: string;
  node: string;
  tool: string;
  messages: BaseMessage[];
  /** The call's options as the model got them: its bound tools and tool choice. */
  options: OfflineChatModelCallOptions;
  start: number;
  end: number;
}

export class CallTracer extends BaseCallbackHandler {
  name = "bench_call_tracer";
  readonly calls = new Map<string, TracedCall>();

  override async handleChatModelStart(
    _llm: unknown,
    messages: BaseMessage[][],
    runId: string,
    _parentRunId?: string,
    extraParams?: Record<string, unknown>,
    _tags?: string[],
    metadata?: Record<string, unknown>,
  ) {
    const options = (extraParams?.options ?? {}) as OfflineChatModelCallOptions;
    const tools = options.tools ?? [];
    this.calls.set(runId, {
      step: Number(metadata?.langgraph_step),
      task: String(metadata?.langgraph_checkpoint_ns),
      node: String(metadata?.langgraph_node),
      tool: tools[0]?.function.name ?? "",
      messages: messages[0]!,
      options: { tools, ...(options.tool_choice !== undefined ? { tool_choice: options.tool_choice } : {}) },
      start: performance.now(),
      end: Number.POSITIVE_INFINITY,
    });
  }

  override async handleLLMEnd(_output: unknown, runId: string) {
    const call = this.calls.get(runId);
    if (call) call.end = performance.now();
  }
}

/** One super-step: its tasks, each a sequence of rounds of calls that ran at the same time. */
export type CallPlan = { step: number; tasks: { node: string; rounds: TracedCall[][] }[] }[];

/**
 * Groups the traced calls by super-step and task; within a task, a call that starts
 * after one of the current round has ended starts a new round (it waited for it).
 */
export function planOf(calls: TracedCall[]): CallPlan {
  const steps = new Map<number, Map<string, TracedCall[]>>();
  for (const call of calls) {
    const tasks = steps.get(call.step) ?? new Map<string, TracedCall[]>();
    tasks.set(call.task, [...(tasks.get(call.task) ?? []), call]);
    steps.set(call.step, tasks);
  }
  return [...steps.entries()]
    .sort(([a], [b]) => a - b)
    .map(([step, tasks]) => ({
      step,
      tasks: [...tasks.values()].map((taskCalls) => {
        const rounds: TracedCall[][] = [];
        for (const call of [...taskCalls].sort((a, b) => a.start - b.start)) {
          const round = rounds.at(-1);
          if (round && call.start < Math.min(...round.map((c) => c.end))) round.push(call);
          else rounds.push([call]);
        }
        return { node: taskCalls[0]!.node, rounds };
      }),
    }));
}

/** Model calls one after another on the longest path: per super-step, its deepest task. */
export const criticalPathCalls = (plan: CallPlan) =>
  plan.reduce((sum, step) => sum + Math.max(...step.tasks.map((t) => t.rounds.length)), 0);

/** The offline model as the workflows get it: the model factory's, with every workflow's skills. */
const offlineModel = () => createChatModel("offline") as OfflineChatModel;

/**
 * The zero-orchestration baseline: the traced run's model calls with the same prompts and
 * structured outputs (the workflow's schemas by tool name), in the same order and with the
 * same parallelism, as plain async code on the offline model.
 */
export function promiseAllReplay(plan: CallPlan, schemas: Record<string, z.ZodType<Record<string, unknown>>>) {
  const model = offlineModel();
  const structured = Object.fromEntries(
    Object.entries(schemas).map(([name, schema]) => [name, model.withStructuredOutput(schema, { name })]),
  );
  return async () => {
    for (const step of plan) {
      await Promise.all(
        step.tasks.map(async (task) => {
          for (const round of task.rounds) {
            await Promise.all(round.map((call) => structured[call.tool]!.invoke(call.messages)));
          }
        }),
      );
    }
  };
}

/**
 * The offline model's own work for the same calls: each answer generated straight from its
 * prompt, one after another, without LangChain's invoke around it (callbacks, config, output
 * parsing). A test double's cost, which no deployment pays: the bench reports it apart.
 */
export function modelOnlyReplay(plan: CallPlan) {
  const model = offlineModel();
  const calls = plan.flatMap((step) => step.tasks.flatMap((task) => task.rounds.flat()));
  return async () => {
    for (const call of calls) await model._generate(call.messages, call.options);
  };
}
