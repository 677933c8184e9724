import type { StructuredToolInterface } from "@langchain/core/tools";
import { ToolMessage, type BaseMessage, type ToolCall } from "@langchain/core/messages";
import { breakerOptions, processBreakers, throughBreaker } from "../../../checkpoints/breakers.js";
import { abortable, Deadline } from "../../../models/deadline.js";
import { SourceResultSchema, type SourcePassage, type SourceResult } from "../../../state/shared/citations.js";

/**
 * A tool an agent may call to read a source: the LangChain tool the model is shown and runs,
 * and how to turn what it returns into passages a citation can point at.
 */
export interface SourceTool {
  tool: StructuredToolInterface;
  /** The circuit breaker its calls go through (checkpoints/breakers.ts): an MCP server's. */
  breaker?: string;
  passages(args: Record<string, unknown>, output: unknown): SourcePassage[];
}

/** The text of a tool's output: a string as it is, content blocks' text joined. */
export function outputText(output: unknown): string {
  if (typeof output === "string") return output;
  if (Array.isArray(output)) return output.map(outputText).filter(Boolean).join("\n");
  if (output !== null && typeof output === "object" && "text" in output && typeof output.text === "string")
    return output.text;
  return output === undefined || output === null ? "" : JSON.stringify(output);
}

/** An error as one short line: a tool's stack or multi-line message would flood the agent's context. */
function oneLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  const line = text.replace(/\s+/g, " ").trim();
  return line.length > 300 ? `${line.slice(0, 300)}…` : line || "failed";
}

/** `text` with every secret replaced, so a server that echoes its credentials leaks nothing into the saved results. */
export function masked(text: string, secrets: readonly string[]): string {
  return secrets.filter((s) => s.length >= 4).reduce((out, secret) => out.split(secret).join("***"), text);
}

/** How @langchain/mcp-adapters reports a tool's own error result (`isError`), which the server sent fine. */
const TOOL_ERROR = /^MCP tool '.*' on server '.*' returned an error:/;

/**
 * Runs one tool call to completion, failure or its deadline, and returns what the agent is shown.
 * Never throws for the tool's sake: a failing or hanging tool is a result the agent reads and the
 * loop records, so one bad source cannot fail the branch. The run's own cancellation still throws.
 */
export async function runSourceCall(
  source: SourceTool | undefined,
  call: ToolCall,
  timeoutMs: number,
  runSignal: AbortSignal | undefined,
  secrets: readonly string[] = [],
): Promise<SourceResult> {
  if (!source) return { tool: call.name, status: "error", error: `no tool named '${call.name}' is offered` };
  const deadline = new Deadline(Math.max(1, timeoutMs), runSignal);
  const { signal } = deadline;
  try {
    const invoke = () => abortable(source.tool.invoke(call.args, { signal }), signal);
    // A tool that answered with an error, and a call the run cancelled, say nothing of the server's health.
    const counts = (error: Error) => !runSignal?.aborted && !TOOL_ERROR.test(error.message);
    const output: unknown = source.breaker
      ? await throughBreaker(await processBreakers(), source.breaker, invoke, { ...breakerOptions(), counts })
      : await invoke();
    const passages = source.passages(call.args, output).map((p) => ({ ...p, text: masked(p.text, secrets) }));
    return { tool: call.name, status: "ok", passages };
  } catch (error) {
    if (runSignal?.aborted) throw error;
    const reason = deadline.expired ? `timed out after ${timeoutMs} ms` : oneLine(error);
    return { tool: call.name, status: "error", error: masked(reason, secrets) };
  } finally {
    deadline.clear();
  }
}

/**
 * A result as the agent sees it: JSON, so text a source returns is always a string value and
 * can never pass itself off as another result or as the loop's own words.
 */
export function toolMessageOf(call: ToolCall, result: SourceResult): ToolMessage {
  return new ToolMessage({
    content: JSON.stringify(result),
    tool_call_id: call.id ?? call.name,
    name: call.name,
    status: result.status === "ok" ? "success" : "error",
  });
}

/** The source results among the messages, in order; other tool messages are not the loop's. */
export function sourceResultsIn(messages: readonly BaseMessage[]): SourceResult[] {
  return messages.flatMap((message) => {
    if (message.getType() !== "tool" || typeof message.content !== "string") return [];
    try {
      const parsed = SourceResultSchema.safeParse(JSON.parse(message.content));
      return parsed.success ? [parsed.data] : [];
    } catch {
      return [];
    }
  });
}
