import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import { HumanMessage } from "@langchain/core/messages";
import type { LangGraphRunnableConfig } from "@langchain/langgraph";
import type { CitedFindings } from "../../../state/shared/citations.js";
import type { SourcesSettings } from "../../../state/shared/sources.js";
import { openSources } from "./sources.js";
import { callsMade, createToolLoop } from "./tool_loop.js";

/** What an agent found through its sources, and how many tool calls it took. */
export interface SourcedFindings {
  findings: CitedFindings;
  toolCalls: number;
}

/**
 * One agent's research through the run's sources, in place of its single model call. The
 * sources are opened for this call and closed after it, whatever happens. The tool loop is
 * compiled without a checkpointer of its own, so it runs as a subgraph of the calling node on
 * the workflow's checkpointer: each tool call is saved as it finishes, and a node resumed after
 * a crash carries on from the last saved call instead of repeating the ones that finished.
 */
export async function researchSources(
  model: BaseChatModel,
  settings: SourcesSettings,
  brief: string,
  config: LangGraphRunnableConfig,
): Promise<SourcedFindings> {
  const sources = await openSources(settings);
  try {
    const loop = createToolLoop({
      model,
      sources,
      budget: settings.toolBudget,
      toolTimeoutMs: settings.toolTimeoutMs,
      loopTimeoutMs: settings.toolLoopTimeoutMs,
    });
    const state = await loop.invoke({ messages: [new HumanMessage(brief)] }, config);
    if (!state.findings) throw new Error("the tool loop ended without findings");
    return { findings: state.findings, toolCalls: callsMade(state.messages) };
  } finally {
    await sources.close();
  }
}
