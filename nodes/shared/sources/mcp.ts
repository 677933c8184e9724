import { createHash } from "node:crypto";
import { accessSync, constants, readFileSync, statSync } from "node:fs";
import { delimiter, isAbsolute, join, resolve } from "node:path";
import { MultiServerMCPClient } from "@langchain/mcp-adapters";
import { z } from "zod";
import { InputError } from "../../../state/shared/errors.js";
import { logAt } from "../../../checkpoints/log.js";
import type { SourceTool } from "./source_tool.js";
import { outputText } from "./source_tool.js";

/**
 * MCP servers in the `mcpServers` format that Claude Desktop, Cursor and VS Code share: a
 * `command` (stdio) or a `url` (streamable HTTP). Values may name environment variables as
 * `${env:NAME}`; they are looked up when the servers are connected and kept nowhere else, so
 * the file can be committed and its secrets never reach a checkpoint.
 */

const text = z.string().min(1);
const StdioServerSchema = z
  .object({
    type: z.literal("stdio").optional(),
    transport: z.literal("stdio").optional(),
    command: text,
    args: z.array(z.string()).default([]),
    env: z.record(z.string(), z.string()).default({}),
    cwd: z.string().optional(),
  })
  .strict();
const HttpServerSchema = z
  .object({
    type: z.enum(["http", "streamable-http", "streamableHttp"]).optional(),
    transport: z.enum(["http", "streamable-http", "streamableHttp"]).optional(),
    url: text,
    headers: z.record(z.string(), z.string()).default({}),
  })
  .strict();
const ServerSchema = z.union([StdioServerSchema, HttpServerSchema]);
export const McpFileSchema = z.object({ mcpServers: z.record(z.string().regex(/^[A-Za-z0-9_-]+$/), ServerSchema) });
export type McpServers = z.infer<typeof McpFileSchema>["mcpServers"];

const ENV_REFERENCE = /\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}/g;

function issueLine(issue: z.core.$ZodIssue): string {
  const where = issue.path.map(String).join(".");
  if (issue.path.length === 2 && issue.code === "invalid_union") {
    return `${where} needs "command" (a stdio server) or "url" (a streamable HTTP server), and no other keys than those the format allows`;
  }
  if (issue.path[0] === "mcpServers" && issue.path.length === 1 && issue.code === "invalid_key") {
    return "server names may hold letters, digits, '-' and '_' only";
  }
  return `${where || "the file"}: ${issue.message}`;
}

/** The file's servers, validated; any mistake is one line naming the file and what to fix. */
export function readMcpFile(file: string): McpServers {
  let raw: string;
  try {
    raw = readFileSync(file, "utf8");
  } catch {
    throw new InputError(`MCP file '${file}' cannot be read: pass --mcp a JSON file holding "mcpServers"`);
  }
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (error) {
    const why = error instanceof Error ? error.message.split("\n")[0] : "unparsable";
    throw new InputError(`MCP file '${file}' is not valid JSON (${why}): fix it or leave out --mcp`);
  }
  const parsed = McpFileSchema.safeParse(json);
  if (!parsed.success) throw new InputError(`MCP file '${file}': ${issueLine(parsed.error.issues[0]!)}`);
  return parsed.data.mcpServers;
}

/** Whether a command runs: a path to an executable file, or a name found on PATH. */
export function commandExists(command: string, cwd: string, env: NodeJS.ProcessEnv): boolean {
  const runnable = (path: string) => {
    try {
      accessSync(path, constants.X_OK);
      return statSync(path).isFile();
    } catch {
      return false;
    }
  };
  if (command.includes("/")) return runnable(isAbsolute(command) ? command : resolve(cwd, command));
  return (env.PATH ?? "").split(delimiter).some((dir) => dir && runnable(join(dir, command)));
}

const referencesIn = (values: string[]) => [
  ...new Set(values.flatMap((v) => [...v.matchAll(ENV_REFERENCE)].map((m) => m[1]!))),
];

function valuesOf(server: McpServers[string]): string[] {
  return "command" in server
    ? [server.command, ...server.args, ...Object.values(server.env), server.cwd ?? ""]
    : [server.url, ...Object.values(server.headers)];
}

/**
 * Checks what can be checked before a run saves anything: every stdio command exists and every
 * environment reference is set. Nothing is resolved or kept.
 */
export function checkMcpServers(file: string, servers: McpServers, env: NodeJS.ProcessEnv): void {
  for (const [name, server] of Object.entries(servers)) {
    const missing = referencesIn(valuesOf(server)).find((ref) => !env[ref]);
    if (missing)
      throw new InputError(
        `MCP server '${name}' needs environment variable ${missing}: set it, or remove the reference from '${file}'`,
      );
    if ("command" in server && !commandExists(server.command, server.cwd ?? process.cwd(), env)) {
      throw new InputError(
        `MCP server '${name}': command '${server.command}' not found: install it or fix "command" in '${file}'`,
      );
    }
  }
}

/** Every `${env:NAME}` in the value replaced by NAME's value, and the values used, to mask later. */
function resolved(value: string, env: NodeJS.ProcessEnv, secrets: string[]): string {
  return value.replace(ENV_REFERENCE, (_, name: string) => {
    const found = env[name];
    if (!found) throw new InputError(`an MCP server needs environment variable ${name}: set it`);
    secrets.push(found);
    return found;
  });
}

const resolvedRecord = (record: Record<string, string>, env: NodeJS.ProcessEnv, secrets: string[]) =>
  Object.fromEntries(Object.entries(record).map(([k, v]) => [k, resolved(v, env, secrets)]));

/**
 * An MCP server's breaker name: its name and a digest of its declaration as written (references
 * unresolved), so two files declaring different servers under one name do not share a breaker, and
 * no value from the file shows.
 */
export function mcpBreaker(name: string, server: McpServers[string]): string {
  return `mcp:${name}#${createHash("sha256").update(JSON.stringify(server)).digest("hex").slice(0, 12)}`;
}

/** Connected MCP servers: their tools, the secret values to mask in what they return, and a way to disconnect. */
export interface McpConnection {
  tools: SourceTool[];
  secrets: string[];
  close(): Promise<void>;
}

/**
 * Starts or connects to the servers in the file, and only those. Environment references are
 * resolved here, in memory, for the connection; stdio servers get PATH and the file's own `env`,
 * not the whole environment, so a server sees only the secrets it was given.
 */
export async function connectMcpServers(servers: McpServers, env: NodeJS.ProcessEnv): Promise<McpConnection> {
  const secrets: string[] = [];
  const connections = Object.fromEntries(
    Object.entries(servers).map(([name, server]) => [
      name,
      "command" in server
        ? {
            transport: "stdio" as const,
            command: resolved(server.command, env, secrets),
            args: server.args.map((arg) => resolved(arg, env, secrets)),
            env: { PATH: env.PATH ?? "", ...resolvedRecord(server.env, env, secrets) },
            ...(server.cwd ? { cwd: resolved(server.cwd, env, secrets) } : {}),
            stderr: "ignore" as const,
          }
        : {
            transport: "http" as const,
            url: resolved(server.url, env, secrets),
            headers: resolvedRecord(server.headers, env, secrets),
          },
    ]),
  );
  // Logged as connected: their env and headers are redacted by path (checkpoints/log.ts).
  logAt("debug")?.debug({ mcp: connections }, "connecting MCP servers");
  const client = new MultiServerMCPClient({
    mcpServers: connections,
    throwOnLoadError: true,
    prefixToolNameWithServerName: true,
  });
  try {
    const tools: SourceTool[] = [];
    for (const name of Object.keys(servers)) {
      for (const tool of await client.getTools(name)) {
        const toolName = tool.name.slice(name.length + 2);
        tools.push({
          tool,
          breaker: mcpBreaker(name, servers[name]!),
          passages: (args, output) => [
            {
              // One source per question asked: two lookups are two answers, cited apart.
              sourceId: `mcp:${name}/${toolName}(${JSON.stringify(args)})`,
              title: `${toolName} (MCP server ${name})`,
              location: `${name}/${toolName} ${JSON.stringify(args)}`,
              text: outputText(output),
            },
          ],
        });
      }
    }
    return { tools, secrets, close: () => client.close() };
  } catch (error) {
    await client.close();
    throw error;
  }
}
