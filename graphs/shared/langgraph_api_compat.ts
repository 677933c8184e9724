import { readFileSync } from "node:fs";

/**
 * The one place that patches a library's behaviour, behind a version check.
 *
 * @langchain/langgraph-api up to 2.0.0 starts every run with streamEvents(input, {
 * recursionLimit: undefined }) when the run sets no recursion_limit, and that undefined
 * replaces a graph's own limit with LangChain's 25 (fixed upstream by langgraphjs#2645,
 * after the pinned release). A served graph whose loops need more steps keeps its limit here.
 */
const LAST_AFFECTED_VERSION = [2, 0, 0] as const;

/** The installed langgraph-api's version, or undefined where it is not installed (the CLI's production install). */
function installedApiVersion(): number[] | undefined {
  try {
    const manifest = readFileSync(
      new URL("../../node_modules/@langchain/langgraph-api/package.json", import.meta.url),
      "utf8",
    );
    const version: unknown = JSON.parse(manifest).version;
    return typeof version === "string" ? version.split(/[.-]/).slice(0, 3).map(Number) : undefined;
  } catch {
    return undefined;
  }
}

export function apiDropsRecursionLimit(version: number[] | undefined = installedApiVersion()): boolean {
  if (!version) return false;
  for (let i = 0; i < LAST_AFFECTED_VERSION.length; i++) {
    const part = version[i] ?? 0;
    if (part !== LAST_AFFECTED_VERSION[i]) return part < LAST_AFFECTED_VERSION[i]!;
  }
  return true;
}

type StreamEvents = (input: unknown, options: { recursionLimit?: number }, streamOptions?: unknown) => unknown;

/** Makes the served graph's streamEvents keep `limit` when the server passes none. */
export function keepRecursionLimitWhenServed<G extends { streamEvents: unknown }>(graph: G, limit: number): G {
  if (!apiDropsRecursionLimit()) return graph;
  const patched = graph as unknown as { streamEvents: StreamEvents };
  const streamEvents = patched.streamEvents.bind(graph);
  patched.streamEvents = (input, options, streamOptions) =>
    streamEvents(input, { ...options, recursionLimit: options.recursionLimit ?? limit }, streamOptions);
  return graph;
}
