import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { HumanMessage } from "@langchain/core/messages";
import { OfflineChatModel } from "../../models/offline/model.js";
import { openSources } from "../../nodes/shared/sources/sources.js";
import { createToolLoop } from "../../nodes/shared/sources/tool_loop.js";
import { SourcesSettingsSchema, type SourcesSettings } from "../../state/shared/sources.js";

export const CORPUS = resolve("tests/fixtures/corpus");
export const KESTREL_QUESTION =
  "Objective: How long does the Kestrel field sensor battery last in freezing temperatures?";
export const REGISTRY_QUESTION = 'Objective: Which team owns project "Orchid" and project "Basalt"?';

export const tempDir = (prefix: string) => mkdtempSync(join(tmpdir(), `orchestra-${prefix}-`));

/** An MCP file starting the registry test server over stdio, with `env` for it. */
export function registryMcpFile(dir: string, env: Record<string, string> = {}): string {
  const file = join(dir, "mcp.json");
  const server = {
    command: process.execPath,
    args: ["--import", "tsx", resolve("tests/support/mcp_registry_server.ts")],
    cwd: resolve("."),
    env,
  };
  writeFileSync(file, JSON.stringify({ mcpServers: { registry: server } }));
  return file;
}

export const sourcesSettings = (given: Partial<SourcesSettings>) => SourcesSettingsSchema.parse(given);

/** Runs one tool loop of the offline model over the sources, to its cited findings. */
export async function runToolLoop(brief: string, given: Partial<SourcesSettings>, cacheDir = tempDir("cache")) {
  const settings = sourcesSettings(given);
  const sources = await openSources(settings, { cacheDir });
  try {
    const loop = createToolLoop({
      model: new OfflineChatModel(),
      sources,
      budget: settings.toolBudget,
      toolTimeoutMs: settings.toolTimeoutMs,
      loopTimeoutMs: settings.toolLoopTimeoutMs,
    });
    return await loop.invoke({ messages: [new HumanMessage(brief)] });
  } finally {
    await sources.close();
  }
}
