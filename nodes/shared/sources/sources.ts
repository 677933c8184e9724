import { statSync } from "node:fs";
import { tool } from "@langchain/core/tools";
import { TavilySearch } from "@langchain/tavily";
import { z } from "zod";
import { InputError } from "../../../state/shared/errors.js";
import { SourcePassageSchema, type SourcePassage } from "../../../state/shared/citations.js";
import type { SourcesSettings } from "../../../state/shared/sources.js";
import { defaultCacheDir, openCorpus, type Corpus } from "./corpus.js";
import { checkMcpServers, connectMcpServers, readMcpFile } from "./mcp.js";
import type { SourceTool } from "./source_tool.js";

export const CORPUS_TOOL = "search_corpus";
export const WEB_TOOL = "web_search";

/**
 * Checks the configured sources before a run saves anything, so a mistake is one line and
 * exit 2 rather than a failed branch: the corpus is a folder, the MCP file is well formed, its
 * commands exist and its environment references are set, web search has its key.
 */
export function validateSources(settings: SourcesSettings, env: NodeJS.ProcessEnv = process.env): void {
  if (settings.corpus !== undefined) {
    let isFolder = false;
    try {
      isFolder = statSync(settings.corpus).isDirectory();
    } catch {
      // Reported below, as for a file.
    }
    if (!isFolder)
      throw new InputError(
        `corpus folder '${settings.corpus}' not found: pass --corpus an existing folder of .md, .txt or .html files`,
      );
  }
  if (settings.mcp !== undefined) checkMcpServers(settings.mcp, readMcpFile(settings.mcp), env);
  if (settings.webSearch && !env.TAVILY_API_KEY)
    throw new InputError("web search needs TAVILY_API_KEY: set it, or turn webSearch off");
}

/** The corpus as a tool: the model asks in words and gets passages with their file and line range. */
export function corpusTool(corpus: Corpus): SourceTool {
  return {
    tool: tool(async ({ query }) => JSON.stringify(corpus.search(query)), {
      name: CORPUS_TOOL,
      description:
        `Search the local document corpus (${corpus.documents} Markdown, text and HTML files) for passages about a query. ` +
        "Returns passages with their file path and line range.",
      schema: z.object({ query: z.string().describe("Words to search for") }),
    }),
    passages: (_args, output) => z.array(SourcePassageSchema).parse(JSON.parse(String(output))),
  };
}

interface TavilyHit {
  title?: string;
  url?: string;
  content?: string;
}

/** Tavily's search tool as the library ships it; its results become passages citing their URL. */
function webTool(apiKey: string): SourceTool {
  return {
    tool: new TavilySearch({ maxResults: 5, tavilyApiKey: apiKey, name: WEB_TOOL }),
    passages: (_args, output): SourcePassage[] => {
      const hits = (output as { results?: TavilyHit[] } | undefined)?.results ?? [];
      return hits
        .filter((hit) => hit.url && hit.content)
        .map((hit) => ({
          sourceId: `web:${hit.url}`,
          title: hit.title || hit.url!,
          location: hit.url!,
          text: hit.content!,
        }));
    },
  };
}

/** The tools of a run's sources, the secret values their results must not carry, and a way to let go of them. */
export interface OpenSources {
  tools: SourceTool[];
  secrets: string[];
  close(): Promise<void>;
}

/** Opens every configured source. Call validateSources first: this assumes a sound configuration. */
export async function openSources(
  settings: SourcesSettings,
  options: { env?: NodeJS.ProcessEnv; cacheDir?: string } = {},
): Promise<OpenSources> {
  const env = options.env ?? process.env;
  const tools: SourceTool[] = [];
  if (settings.corpus !== undefined)
    tools.push(corpusTool(await openCorpus(settings.corpus, options.cacheDir ?? defaultCacheDir(env))));
  const apiKey = env.TAVILY_API_KEY;
  if (settings.webSearch && apiKey) tools.push(webTool(apiKey));
  if (settings.mcp === undefined) return { tools, secrets: apiKey ? [apiKey] : [], close: async () => {} };
  const mcp = await connectMcpServers(readMcpFile(settings.mcp), env);
  return { tools: [...tools, ...mcp.tools], secrets: [...mcp.secrets, ...(apiKey ? [apiKey] : [])], close: mcp.close };
}
