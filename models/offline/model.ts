import type { BaseLanguageModelInput } from "@langchain/core/language_models/base";
import {
  BaseChatModel,
  type BaseChatModelCallOptions,
  type BaseChatModelParams,
  type BindToolsInput,
  type LangSmithParams,
} from "@langchain/core/language_models/chat_models";
import { AIMessage, AIMessageChunk, type BaseMessage } from "@langchain/core/messages";
import type { ChatResult } from "@langchain/core/outputs";
import type { Runnable } from "@langchain/core/runnables";
import { convertToOpenAITool, isLangChainTool } from "@langchain/core/utils/function_calling";
import { getConfig } from "@langchain/langgraph";
import {
  extractiveSummary,
  type OfflineSkills,
  runSkill,
  SHARED_SKILLS,
  type JsonSchema,
  type Prompt,
} from "./skills.js";
import {
  answersWeakly,
  answersWithMisquotes,
  NO_NODE,
  readFaultPlan,
  readLatency,
  recordCall,
  simulateCall,
} from "./runtime.js";
import { hash, keywords } from "./text.js";
import { misquoted, nextToolCall, type PlannedCall } from "./tool_use.js";

export { offlineCallCounts, resetOfflineCallCounts, type CallLogEntry } from "./runtime.js";

export const OFFLINE_MODEL_NAME = "orchestra-offline";

/** A bound tool in OpenAI's function format, whatever form it was bound in. */
export interface OfflineTool {
  type: "function";
  function: { name: string; description?: string; parameters?: JsonSchema };
}

export interface OfflineChatModelCallOptions extends BaseChatModelCallOptions {
  tools?: OfflineTool[];
}

function toOfflineTool(tool: BindToolsInput): OfflineTool {
  if (isLangChainTool(tool)) return convertToOpenAITool(tool) as OfflineTool;
  const raw = tool as Record<string, unknown>;
  if (raw.function) return { type: "function", function: raw.function as OfflineTool["function"] };
  // Bare function definitions and Anthropic-style tools name their schema differently.
  const parameters = (raw.parameters ?? raw.input_schema ?? raw.schema) as JsonSchema | undefined;
  if (typeof raw.name !== "string") throw new Error("bindTools: a tool needs a name");
  const description = typeof raw.description === "string" ? { description: raw.description } : {};
  return { type: "function", function: { name: raw.name, ...description, parameters } };
}

function textOf(message: BaseMessage): string {
  if (typeof message.content === "string") return message.content;
  return message.content
    .map((block) => (typeof block === "string" ? block : block.type === "text" ? String(block.text) : ""))
    .join("");
}

function toPrompt(messages: BaseMessage[]): Prompt {
  const texts = messages.map((m) => ({ type: m.getType(), text: textOf(m) }));
  const asked = texts.filter((m) => m.type === "human" || m.type === "tool");
  return {
    text: texts.map((m) => m.text).join("\n\n"),
    material: texts
      .filter((m) => m.type !== "system")
      .map((m) => m.text)
      .join("\n\n"),
    last: asked.at(-1)?.text ?? "",
  };
}

/** The tool the model calls, or none for a plain answer. */
function chooseTool(
  options: OfflineChatModelCallOptions,
  messages: BaseMessage[],
  prompt: Prompt,
): OfflineTool | undefined {
  const tools = options.tools ?? [];
  const choice = options.tool_choice;
  if (!tools.length || choice === "none") return undefined;
  const named =
    typeof choice === "string"
      ? ["auto", "any", "required"].includes(choice)
        ? undefined
        : choice
      : ((choice?.function as { name?: string } | undefined)?.name ?? (choice?.name as string | undefined));
  if (named) {
    const tool = tools.find((t) => t.function.name === named);
    if (!tool) throw new Error(`tool_choice names '${named}', which is not among the bound tools`);
    return tool;
  }
  // With the choice left to the model, an agent that just got its tool results is
  // answered in words: calling tools forever would never let its loop end.
  if ((choice === undefined || choice === "auto") && messages.at(-1)?.getType() === "tool") return undefined;
  if (tools.length === 1) return tools[0];
  // Several tools: the one whose name and description share most words with the request.
  const asked = new Set(keywords(prompt.last, 20));
  const relevance = ({ function: f }: OfflineTool) =>
    keywords(`${f.name.replace(/_/g, " ")} ${f.description ?? ""}`, 20).filter((w) => asked.has(w)).length;
  return tools.reduce((best, tool) => (relevance(tool) > relevance(best) ? tool : best));
}

/**
 * A tool-using agent's turn, when the prompt is a tool loop's and the choice is left to the model:
 * the next source to read, or none to answer. Undefined for any other conversation.
 */
function agentTurn(
  options: OfflineChatModelCallOptions,
  messages: BaseMessage[],
  skills: OfflineSkills,
): { call?: PlannedCall } | undefined {
  const choice = options.tool_choice;
  if (!options.tools?.length || (choice !== undefined && choice !== "auto")) return undefined;
  // Asked for one of the app's own structured outputs: that is an answer, not a turn of the loop.
  if (options.tools.some((t) => Object.hasOwn(skills, t.function.name))) return undefined;
  const turns = messages.map((m) => ({
    type: m.getType(),
    text: textOf(m),
    toolCalls: AIMessage.isInstance(m) ? (m.tool_calls ?? []).map((c) => ({ name: c.name, args: c.args })) : [],
  }));
  return nextToolCall(
    turns,
    options.tools.map((t) => t.function),
  );
}

/**
 * A deterministic chat model that needs no network: every answer is derived from the
 * prompt, and structured output works through tool calling. It is the default when
 * no API key is set, so the app, its tests and users' own agents all run offline.
 *
 * Test knobs come from the environment: ORCHESTRA_OFFLINE_LATENCY_MS,
 * ORCHESTRA_OFFLINE_FAULTS (per LangGraph node) and ORCHESTRA_OFFLINE_CALL_LOG.
 */
export class OfflineChatModel extends BaseChatModel<OfflineChatModelCallOptions, AIMessageChunk> {
  static override lc_name() {
    return "OfflineChatModel";
  }

  /** The answers to structured outputs, by tool name: the shared ones unless the model factory's set-up passes every workflow's. */
  private readonly skills: () => Promise<OfflineSkills>;

  constructor({
    skills = async () => SHARED_SKILLS,
    ...fields
  }: BaseChatModelParams & { skills?: () => Promise<OfflineSkills> } = {}) {
    super(fields);
    this.skills = skills;
    // Malformed knobs are the user's mistake: report them now, not mid-run.
    readFaultPlan(process.env);
    readLatency(process.env);
  }

  override _llmType(): string {
    return OFFLINE_MODEL_NAME;
  }

  override getLsParams(options: this["ParsedCallOptions"]): LangSmithParams {
    return { ...super.getLsParams(options), ls_provider: "offline", ls_model_name: OFFLINE_MODEL_NAME };
  }

  override bindTools(
    tools: BindToolsInput[],
    kwargs?: Partial<OfflineChatModelCallOptions>,
  ): Runnable<BaseLanguageModelInput, AIMessageChunk, OfflineChatModelCallOptions> {
    return this.withConfig({ ...kwargs, tools: tools.map(toOfflineTool) });
  }

  async _generate(messages: BaseMessage[], options: this["ParsedCallOptions"]): Promise<ChatResult> {
    // LangGraph runs each node inside an AsyncLocalStorage context holding the node's
    // config; the run manager carries it only when callbacks are configured.
    const metadata = getConfig()?.metadata;
    const node = metadata?.langgraph_node;
    const nodeName = typeof node === "string" ? node : NO_NODE;
    // "<parent namespace>|<node>:<task id>": the innermost task is this call's.
    const namespace = metadata?.langgraph_checkpoint_ns;
    const task = typeof namespace === "string" ? (namespace.split("|").at(-1)!.split(":")[1] ?? null) : null;
    const prompt = toPrompt(messages);
    const skills = await this.skills();
    const loopTurn = agentTurn(options, messages, skills);
    const tool = loopTurn ? undefined : chooseTool(options, messages, prompt);
    const toolName = loopTurn?.call?.name ?? tool?.function.name;
    const call = recordCall(nodeName, task, toolName ?? null, process.env);
    await simulateCall(nodeName, call, options.signal, process.env);

    const seed = hash(`${toolName ?? ""}\n${prompt.text}`);
    const weak = answersWeakly(nodeName, call, process.env);
    const answer =
      loopTurn?.call?.args ??
      (tool ? runSkill(skills, tool.function.name, prompt, seed, tool.function.parameters ?? {}, weak) : undefined);
    const args = answer && answersWithMisquotes(nodeName, call, process.env) ? misquoted(answer) : answer;
    const content = args ? "" : `[offline] ${extractiveSummary(prompt, seed, weak)}`;
    const inputTokens = Math.ceil(prompt.text.length / 4);
    const outputTokens = Math.ceil((args ? JSON.stringify(args) : content).length / 4);
    const message = new AIMessageChunk({
      content,
      ...(toolName && args
        ? {
            tool_calls: [
              {
                id: `call_offline_${seed.toString(16)}`,
                name: toolName,
                args: args as Record<string, unknown>,
                type: "tool_call" as const,
              },
            ],
          }
        : {}),
      response_metadata: { model_provider: "offline", model_name: OFFLINE_MODEL_NAME, offline: true },
      usage_metadata: {
        input_tokens: inputTokens,
        output_tokens: outputTokens,
        total_tokens: inputTokens + outputTokens,
      },
    });
    return { generations: [{ text: content, message }] };
  }
}
