import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { validateSources } from "../../nodes/shared/sources/sources.js";
import { InputError } from "../../state/shared/errors.js";
import { CORPUS, registryMcpFile, sourcesSettings, tempDir } from "../support/sources.js";

function errorOf(given: Parameters<typeof sourcesSettings>[0], env: NodeJS.ProcessEnv = process.env): string {
  try {
    validateSources(sourcesSettings(given), env);
  } catch (error) {
    expect(error).toBeInstanceOf(InputError);
    return (error as Error).message;
  }
  throw new Error("validateSources accepted the configuration");
}

describe("source configuration", () => {
  const dir = tempDir("config");
  const file = (name: string, text: string) => (writeFileSync(join(dir, name), text), join(dir, name));

  it("accepts the shipped corpus and a sound MCP file", () => {
    expect(() => validateSources(sourcesSettings({ corpus: CORPUS, mcp: registryMcpFile(dir) }))).not.toThrow();
  });

  it.each([
    [
      "a missing corpus folder",
      { corpus: join(dir, "nowhere") },
      /^corpus folder '.*nowhere' not found: pass --corpus an existing folder/,
    ],
    ["a corpus that is a file", { corpus: registryMcpFile(dir) }, /^corpus folder .* not found/],
    [
      "an MCP file that is not JSON",
      { mcp: file("bad.json", "{ mcpServers: ") },
      /^MCP file '.*bad.json' is not valid JSON \(.*\): fix it/,
    ],
    ["an MCP file without mcpServers", { mcp: file("empty.json", "{}") }, /^MCP file '.*empty.json': mcpServers: /],
    [
      "a server with neither command nor url",
      { mcp: file("neither.json", '{"mcpServers":{"x":{"args":[]}}}') },
      /mcpServers.x needs "command" \(a stdio server\) or "url"/,
    ],
    [
      "an MCP command that does not exist",
      { mcp: file("nocmd.json", '{"mcpServers":{"x":{"command":"no-such-mcp-server-7"}}}') },
      /^MCP server 'x': command 'no-such-mcp-server-7' not found: install it or fix "command"/,
    ],
    ["a missing MCP file", { mcp: join(dir, "absent.json") }, /^MCP file '.*absent.json' cannot be read/],
  ])("rejects %s in one line", (_what, given, expected) => {
    const message = errorOf(given);
    expect(message).toMatch(expected);
    expect(message).not.toContain("\n");
  });

  it("asks for an environment variable a server references, without reading its value into anything", () => {
    const mcp = file(
      "env.json",
      '{"mcpServers":{"x":{"command":"node","env":{"TOKEN":"${env:REGISTRY_TEST_TOKEN}"}}}}',
    );
    expect(errorOf({ mcp }, { PATH: process.env.PATH })).toBe(
      `MCP server 'x' needs environment variable REGISTRY_TEST_TOKEN: set it, or remove the reference from '${mcp}'`,
    );
    expect(() =>
      validateSources(sourcesSettings({ mcp }), { PATH: process.env.PATH, REGISTRY_TEST_TOKEN: "s3cret-value" }),
    ).not.toThrow();
  });

  it("turns web search on only with its key", () => {
    expect(errorOf({ webSearch: true }, {})).toBe("web search needs TAVILY_API_KEY: set it, or turn webSearch off");
  });
});
