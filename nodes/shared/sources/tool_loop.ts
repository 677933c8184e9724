import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import { AIMessage, HumanMessage, SystemMessage, type BaseMessage, type ToolCall } from "@langchain/core/messages";
import {
  Annotation,
  END,
  messagesStateReducer,
  Send,
  START,
  StateGraph,
  type BaseCheckpointSaver,
  type LangGraphRunnableConfig,
} from "@langchain/langgraph";
import { abortable, Deadline } from "../../../models/deadline.js";
import {
  CITED_FINDINGS,
  CitedFindingsSchema,
  groundFindings,
  type CitedFindings,
} from "../../../state/shared/citations.js";
import { runSourceCall, sourceResultsIn, toolMessageOf } from "./source_tool.js";
import type { OpenSources } from "./sources.js";
import { RESPOND_PROMPT, toolLoopSystemPrompt } from "../prompts.js";

export const ToolLoopState = Annotation.Root({
  messages: Annotation<BaseMessage[]>({ reducer: messagesStateReducer, default: () => [] }),
  findings: Annotation<CitedFindings | undefined>(),
  /** The one call a `tools` task runs; set only in the Send that starts it. */
  toolCall: Annotation<ToolCall | undefined>(),
});
type ToolLoopStateType = typeof ToolLoopState.State;

export interface ToolLoopOptions {
  model: BaseChatModel;
  sources: Pick<OpenSources, "tools" | "secrets">;
  /** Most tool calls the loop makes, over all its turns. */
  budget: number;
  /** Time one tool call may take. */
  toolTimeoutMs: number;
  /** Time the loop may spend gathering, counted from when it is built; then it answers from what it read. */
  loopTimeoutMs: number;
}

/** How many tool calls the loop has made: each has exactly one result among the messages. */
export const callsMade = (messages: readonly BaseMessage[]) => messages.filter((m) => m.getType() === "tool").length;

/** The calls the loop may still make of those asked for: none once the budget is spent or the time is up. */
export function allowedCalls(asked: readonly ToolCall[], made: number, budget: number, msLeft: number): ToolCall[] {
  if (msLeft <= 0) return [];
  return asked.slice(0, Math.max(0, budget - made));
}

/** After the model's turn: run the calls it may make, each as a task of its own, or answer. */
export function afterAgent(last: BaseMessage | undefined): "tools" | "respond" {
  return last instanceof AIMessage && (last.tool_calls?.length ?? 0) > 0 ? "tools" : "respond";
}

/** After a round of tool calls: another turn while budget and time are left, else answer. */
export function afterTools(made: number, budget: number, msLeft: number): "agent" | "respond" {
  return made < budget && msLeft > 0 ? "agent" : "respond";
}

/**
 * A bounded tool loop as a graph of its own, so Studio draws it and a checkpointer saves each
 * step: the model's turn (`agent`), each tool call as its own `tools` task, and the cited answer
 * (`respond`). A loop killed mid-way resumes from its last saved step, and a call that finished
 * before the kill is not made again, since its result is already among the saved writes.
 */
export function createToolLoop(options: ToolLoopOptions, checkpointer?: BaseCheckpointSaver | boolean) {
  const { model, sources, budget, toolTimeoutMs } = options;
  const deadline = Date.now() + options.loopTimeoutMs;
  const msLeft = () => deadline - Date.now();
  const byName = new Map(sources.tools.map((source) => [source.tool.name, source]));
  const system = new SystemMessage(toolLoopSystemPrompt(budget));
  if (!model.bindTools) throw new Error(`model ${model.getName()} cannot call tools`);
  const bound = model.bindTools(sources.tools.map((source) => source.tool));

  const agent = async (state: ToolLoopStateType, config: LangGraphRunnableConfig) => {
    const deadline = new Deadline(Math.max(1, msLeft()), config.signal);
    const { signal } = deadline;
    let reply: BaseMessage;
    try {
      reply = await abortable(bound.invoke([system, ...state.messages], { ...config, signal }), signal);
    } catch (error) {
      if (!deadline.expired || config.signal?.aborted) throw error;
      return { messages: [new AIMessage("The time for reading sources ran out; answering from what was read.")] };
    } finally {
      deadline.clear();
    }
    const asked = reply instanceof AIMessage ? (reply.tool_calls ?? []) : [];
    const content = typeof reply.content === "string" ? reply.content : "";
    return {
      messages: [
        new AIMessage({ content, tool_calls: allowedCalls(asked, callsMade(state.messages), budget, msLeft()) }),
      ],
    };
  };

  const tools = async (state: ToolLoopStateType, config: LangGraphRunnableConfig) => {
    const call = state.toolCall!;
    const result = await runSourceCall(
      byName.get(call.name),
      call,
      Math.min(toolTimeoutMs, Math.max(1, msLeft())),
      config.signal,
      sources.secrets,
    );
    return { messages: [toolMessageOf(call, result)] };
  };

  const respond = async (state: ToolLoopStateType, config: LangGraphRunnableConfig) => {
    const structured = model.withStructuredOutput(CitedFindingsSchema, { name: CITED_FINDINGS });
    const findings = await structured.invoke([system, ...state.messages, new HumanMessage(RESPOND_PROMPT)], config);
    const passages = sourceResultsIn(state.messages).flatMap((r) => (r.status === "ok" ? r.passages : []));
    return { findings: groundFindings(findings, passages) };
  };

  return new StateGraph(ToolLoopState)
    .addNode("agent", agent)
    .addNode("tools", tools)
    .addNode("respond", respond)
    .addEdge(START, "agent")
    .addConditionalEdges(
      "agent",
      (state) => {
        const last = state.messages.at(-1);
        if (afterAgent(last) === "respond") return "respond";
        return (last as AIMessage).tool_calls!.map((call) => new Send("tools", { ...state, toolCall: call }));
      },
      ["tools", "respond"],
    )
    .addConditionalEdges("tools", (state) => afterTools(callsMade(state.messages), budget, msLeft()), [
      "agent",
      "respond",
    ])
    .addEdge("respond", END)
    .compile({ name: "tool_loop", ...(checkpointer !== undefined ? { checkpointer } : {}) });
}
