import { HumanMessage, type BaseMessage } from "@langchain/core/messages";
import type { RunnableConfig } from "@langchain/core/runnables";
import { AsyncLocalStorageProviderSingleton } from "@langchain/core/singletons";
import { tool } from "@langchain/core/tools";
import { createReactAgent } from "@langchain/langgraph/prebuilt";
import { z } from "zod";
import { createChatModel, defaultModelSpec } from "../../models/index.js";
import type { LlmAction, REACT_TOOLS, ReactAction } from "../../state/enterprise_workflow/definition.js";
import { evaluateExpression } from "../../state/enterprise_workflow/expressions.js";
import { renderTemplate } from "./decisions.js";
import { splitPrompt } from "./prompts.js";

/** The run's settings the engine reads: only the model, spelled as the rest of the app spells it. */
export function modelSpecOf(config: RunnableConfig): string {
  const given = config.configurable?.model;
  return typeof given === "string" && given !== "" ? given : defaultModelSpec();
}

/**
 * Model calls are made as if from a node named after the step: the offline model's fault plan and
 * call log, and traces, then tell the steps apart although they all run in the same worker nodes.
 */
function asStep<T>(
  stepId: string,
  config: RunnableConfig,
  signal: AbortSignal,
  call: (config: RunnableConfig) => Promise<T>,
): Promise<T> {
  const stepConfig: RunnableConfig = { ...config, signal, metadata: { ...config.metadata, langgraph_node: stepId } };
  return AsyncLocalStorageProviderSingleton.runWithConfig(stepConfig, () => call(stepConfig));
}

function textOf(message: BaseMessage): string {
  if (typeof message.content === "string") return message.content;
  return message.content
    .map((block) => (typeof block === "object" && block.type === "text" ? String(block.text) : ""))
    .join("");
}

export interface ActionCall {
  stepId: string;
  scope: Record<string, unknown>;
  signal: AbortSignal;
  config: RunnableConfig;
}

/** `{llm: prompt}`: the model's text, or an object matching the action's outputSchema. */
export async function runLlmAction(action: LlmAction, call: ActionCall): Promise<unknown> {
  const prompt = renderTemplate(action.llm, call.scope);
  const model = createChatModel(modelSpecOf(call.config));
  if (action.outputSchema) {
    const structured = model.withStructuredOutput(action.outputSchema, { name: "step_output" });
    return asStep(call.stepId, call.config, call.signal, (config) =>
      structured.invoke([new HumanMessage(prompt)], config),
    );
  }
  const reply = await asStep(call.stepId, call.config, call.signal, (config) =>
    model.invoke([new HumanMessage(prompt)], config),
  );
  return textOf(reply);
}

/** `{set: {key: expression}}`: each value computed over the scope as the step started. */
export function runSetAction(set: Record<string, string>, scope: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(set).map(([key, text]) => [key, evaluateExpression(text, scope)]));
}

export const SUBTASKS_TOOL = "split_subtasks";
export const MAX_SUBTASKS = 20;
const SubtasksSchema = z.object({
  subtasks: z
    .array(z.string().min(1))
    .min(1)
    .max(MAX_SUBTASKS)
    .describe("One self-contained piece of the work per entry"),
});

/** An orchestrator step's split: the model breaks its input into subtasks, one worker each. */
export async function runSplit(action: LlmAction, call: ActionCall): Promise<string[]> {
  const prompt = renderTemplate(action.llm, call.scope);
  const model = createChatModel(modelSpecOf(call.config)).withStructuredOutput(SubtasksSchema, { name: SUBTASKS_TOOL });
  const answer = await asStep(call.stepId, call.config, call.signal, (config) =>
    model.invoke([new HumanMessage(splitPrompt(prompt, MAX_SUBTASKS))], config),
  );
  return answer.subtasks;
}

/** The tools a react action may use: small and side-effect free. */
function reactTools(names: readonly (typeof REACT_TOOLS)[number][], scope: Record<string, unknown>) {
  const registry = {
    calculator: tool(({ expression }) => JSON.stringify(evaluateExpression(expression, {})), {
      name: "calculator",
      description: "Evaluates an arithmetic expression such as (12 + 30) * 2",
      schema: z.object({ expression: z.string().describe("The arithmetic expression") }),
    }),
    context_lookup: tool(({ key }) => JSON.stringify(scope[key] ?? null), {
      name: "context_lookup",
      description: `Reads a value of the workflow context by key; keys: ${Object.keys(scope).join(", ")}`,
      schema: z.object({ key: z.string().describe("The context key") }),
    }),
  };
  return names.map((name) => registry[name]);
}

/** `{react: {prompt, tools, maxSteps}}`: LangGraph's prebuilt ReAct agent, its loop bounded by maxSteps model turns. */
export async function runReactAction(action: ReactAction["react"], call: ActionCall): Promise<unknown> {
  const prompt = renderTemplate(action.prompt, call.scope);
  const agent = createReactAgent({
    llm: createChatModel(modelSpecOf(call.config)),
    tools: reactTools(action.tools, call.scope),
  });
  const result = await asStep(call.stepId, call.config, call.signal, (config) =>
    agent.invoke({ messages: [new HumanMessage(prompt)] }, { ...config, recursionLimit: action.maxSteps * 2 + 1 }),
  );
  const messages = result.messages;
  return { answer: textOf(messages.at(-1)!), toolCalls: messages.filter((m) => m.getType() === "tool").length };
}
