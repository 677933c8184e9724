// Runs one agent's tool loop as a subgraph of a checkpointed graph, for the kill-and-resume test:
//   node --import tsx tests/support/tool_loop_child.ts <schema> <threadId> <mcpFile> <brief> start|resume
// Prints the cited findings as JSON when the run ends.
import { HumanMessage } from "@langchain/core/messages";
import { Annotation, StateGraph, type LangGraphRunnableConfig } from "@langchain/langgraph";
import { openCheckpointer } from "../../checkpoints/index.js";
import { OfflineChatModel } from "../../models/offline/model.js";
import { openSources } from "../../nodes/shared/sources/sources.js";
import { createToolLoop } from "../../nodes/shared/sources/tool_loop.js";
import type { CitedFindings } from "../../state/shared/citations.js";
import { SourcesSettingsSchema } from "../../state/shared/sources.js";

const [schema, threadId, mcp, brief, mode] = process.argv.slice(2) as [string, string, string, string, string];
const settings = SourcesSettingsSchema.parse({ mcp, toolBudget: 4 });
const sources = await openSources(settings);
const { checkpointer, close } = await openCheckpointer({ schema });

const State = Annotation.Root({ brief: Annotation<string>(), findings: Annotation<CitedFindings | undefined>() });
const loop = createToolLoop({
  model: new OfflineChatModel(),
  sources,
  budget: settings.toolBudget,
  toolTimeoutMs: 120_000,
  loopTimeoutMs: 120_000,
});
const research = async (state: typeof State.State, config: LangGraphRunnableConfig) => {
  const { findings } = await loop.invoke({ messages: [new HumanMessage(state.brief)] }, config);
  return { findings };
};
const graph = new StateGraph(State)
  .addNode("research", research)
  .addEdge("__start__", "research")
  .compile({ checkpointer });
const config = { configurable: { thread_id: threadId } };
const result = await graph.invoke(mode === "resume" ? null : { brief }, config);
process.stdout.write(JSON.stringify(result.findings));
await sources.close();
await close();
