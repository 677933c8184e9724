import { z } from "zod";

/**
 * The sources a run's agents may read, and the bounds on their tool loop. One schema for the
 * CLI flags, the configuration keys and the API's `configurable`.
 */
export const SourcesSettingsSchema = z.object({
  corpus: z.string().min(1).optional().describe("Folder of Markdown, text and HTML files the agents search (--corpus)"),
  mcp: z.string().min(1).optional().describe("JSON file of MCP servers in the `mcpServers` format (--mcp)"),
  webSearch: z.boolean().default(false).describe("Offer Tavily web search to the agents; needs TAVILY_API_KEY"),
  toolBudget: z.number().int().min(0).max(50).default(6).describe("Most tool calls one agent makes"),
  toolTimeoutMs: z
    .number()
    .int()
    .min(100)
    .max(600_000)
    .default(20_000)
    .describe("Time one tool call may take before it is recorded as failed"),
  toolLoopTimeoutMs: z
    .number()
    .int()
    .min(100)
    .max(3_600_000)
    .default(60_000)
    .describe("Time an agent may spend calling tools before it answers from what it has read"),
});
export type SourcesSettings = z.infer<typeof SourcesSettingsSchema>;

/** Whether any source is configured: without one, agents answer without a tool loop. */
export const hasSources = (settings: SourcesSettings) => Boolean(settings.corpus || settings.mcp || settings.webSearch);
