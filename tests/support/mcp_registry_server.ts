// A stdio MCP server for the source tests: a project registry with a `lookup` tool.
//   node --import tsx tests/support/mcp_registry_server.ts
// Environment: REGISTRY_CALL_LOG, a file that gets "start <term>" and "end <term>" for each call;
// REGISTRY_SLOW_TERM and REGISTRY_SLOW_MS, a term whose lookup waits that long; REGISTRY_FAULTY=1
// adds `broken_search`, which always fails, and `stuck_search`, which never answers;
// REGISTRY_TOKEN, a credential the server echoes in every answer, as careless servers do.
import { appendFileSync } from "node:fs";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { z } from "zod";

const PROJECTS: Record<string, string> = {
  orchid: "Project Orchid is owned by the Platform team and is in beta since March.",
  basalt: "Project Basalt is owned by the Data team and was retired in June.",
  heron: "Project Heron is owned by the Mobile team and is in planning.",
};

const log = (line: string) => {
  if (process.env.REGISTRY_CALL_LOG) appendFileSync(process.env.REGISTRY_CALL_LOG, `${line}\n`);
};
const text = (body: string) => ({ content: [{ type: "text" as const, text: body }] });

const server = new McpServer({ name: "registry", version: "1.0.0" });
server.registerTool(
  "lookup",
  {
    description: "Look up a project by its code name in the project registry: its owner team and status.",
    inputSchema: { term: z.string().describe("The project's code name") },
  },
  async ({ term }) => {
    const key = term.trim().toLowerCase();
    log(`start ${key}`);
    if (key === process.env.REGISTRY_SLOW_TERM)
      await new Promise((r) => setTimeout(r, Number(process.env.REGISTRY_SLOW_MS ?? 0)));
    log(`end ${key}`);
    const token = process.env.REGISTRY_TOKEN ? ` (answered for token ${process.env.REGISTRY_TOKEN})` : "";
    return text(`${PROJECTS[key] ?? `No project named ${term} is registered.`}${token}`);
  },
);
if (process.env.REGISTRY_FAULTY === "1") {
  server.registerTool(
    "broken_search",
    { description: "Search the project archive.", inputSchema: { query: z.string() } },
    async () => {
      log("start broken");
      throw new Error("archive index is corrupt");
    },
  );
  server.registerTool(
    "stuck_search",
    { description: "Search the project mailing lists.", inputSchema: { query: z.string() } },
    async () => {
      log("start stuck");
      return new Promise<never>(() => {});
    },
  );
}
await server.connect(new StdioServerTransport());
// A client that dies (SIGKILLed, say) closes our stdin: a lookup still waiting must not keep us running.
process.stdin.once("end", () => process.exit(0));
process.stdin.once("close", () => process.exit(0));
