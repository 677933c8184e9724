import { Client } from "@langchain/langgraph-sdk";
import type { Hono } from "hono";

/** Headers that describe one HTTP exchange, not the caller: the loopback request sets its own. */
const EXCHANGE_HEADERS = new Set([
  "accept",
  "accept-encoding",
  "connection",
  "content-length",
  "content-type",
  "host",
  "transfer-encoding",
  "mcp-protocol-version",
  "mcp-session-id",
  "last-event-id",
]);

/** An SDK client for the server's own routes on behalf of a caller; made per request. */
export type LoopbackClient = (callerHeaders: Headers) => Client;

/**
 * The protocol adapters (MCP, A2A) drive threads and runs through the server's own API, as
 * LangGraph's server does for its MCP endpoint: the caller's headers go along, so each call is
 * authenticated and authorised exactly as the caller's own request would be, and no route's rules
 * are copied. The requests never leave the process (Hono's app.request).
 */
export function loopbackClient(app: Hono): LoopbackClient {
  const fetchInProcess = (url: string | URL | Request, init?: RequestInit) =>
    app.request(url instanceof URL ? url.href : url, init);
  return (callerHeaders) => {
    const forwarded: Record<string, string> = {};
    callerHeaders.forEach((value, name) => {
      if (!EXCHANGE_HEADERS.has(name.toLowerCase())) forwarded[name] = value;
    });
    return new Client({
      apiUrl: "http://orchestra.loopback",
      defaultHeaders: forwarded,
      callerOptions: { maxRetries: 0, fetch: fetchInProcess },
    });
  };
}

/** A loopback call the server refused (the SDK's HTTPError): its status and the route's one line. */
export function refusal(error: unknown): { status: number; message: string } | undefined {
  if (!(error instanceof Error) || typeof (error as { status?: unknown }).status !== "number") return undefined;
  const { status, text } = error as Error & { status: number; text?: string };
  try {
    const parsed = JSON.parse(text ?? "") as { message?: unknown };
    if (typeof parsed.message === "string") return { status, message: parsed.message };
  } catch {
    // Not the server's JSON error body: the SDK's own message says it.
  }
  return { status, message: error.message };
}
