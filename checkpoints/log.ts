import { AsyncLocalStorageProviderSingleton } from "@langchain/core/singletons";
import { type DestinationStream, type Level, type Logger, pino } from "pino";
import { z } from "zod";
import { InputError } from "../state/shared/errors.js";

/**
 * The process's structured log, on stderr (stdout is the CLI's and `serve --json`'s): one JSON
 * object a line when stderr is not a terminal, a short readable line when it is. Inside a
 * LangGraph node the line carries its run's ids, read from the run's own config (LangGraph keeps
 * it in async context), so no node passes a logger around.
 */

const LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

export const LogSettingsSchema = z.object({
  /** The least severe level written; `silent` writes nothing. Default: see rootLog. */
  ORCHESTRA_LOG_LEVEL: z.enum(LEVELS, { error: `ORCHESTRA_LOG_LEVEL must be one of ${LEVELS.join(", ")}` }).optional(),
});

export function logSettings(env: NodeJS.ProcessEnv = process.env): z.infer<typeof LogSettingsSchema> {
  const parsed = LogSettingsSchema.safeParse({
    ORCHESTRA_LOG_LEVEL: env.ORCHESTRA_LOG_LEVEL?.trim().toLowerCase() || undefined,
  });
  if (!parsed.success) throw new InputError(`${parsed.error.issues[0]!.message}, got '${env.ORCHESTRA_LOG_LEVEL}'`);
  return parsed.data;
}

/**
 * Values under these keys never reach a line, wherever an object logged puts them: webhook and MCP
 * HTTP headers, an MCP stdio server's environment, model keys. Code logs no secret on purpose;
 * this is the net for the objects it logs whole (a step's action, a server declaration).
 */
export const REDACTED_PATHS = ["headers", "env", "apiKey", "authorization", "secret"].flatMap((key) => [
  key,
  `*.${key}`,
  `*.*.${key}`,
  `*.*.*.${key}`,
]);

export interface LogOptions {
  level?: Level | "silent";
  /** Default: stderr, as JSON lines, or readable ones on a terminal. */
  destination?: DestinationStream;
}

export function createLogger(options: LogOptions = {}): Logger {
  const destination =
    options.destination ??
    (process.stderr.isTTY ? readableLines(process.stderr) : pino.destination({ dest: 2, sync: true }));
  return pino(
    {
      level: options.level ?? "info",
      base: { pid: process.pid },
      redact: { paths: REDACTED_PATHS, censor: "[redacted]" },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
}

let root: Logger | undefined;

/**
 * The process's logger, at ORCHESTRA_LOG_LEVEL, else at the level its first caller gives: `serve`
 * asks for info first thing; the other commands get warn, their own output saying what happens.
 * A bad level is an InputError (`serve` meets it before it connects to anything).
 */
export function rootLog(defaultLevel: Level = "warn"): Logger {
  return (root ??= createLogger({ level: logSettings().ORCHESTRA_LOG_LEVEL ?? defaultLevel }));
}

/** Tests and the bench write the log elsewhere. */
export function setRootLog(logger: Logger | undefined): void {
  root = logger;
}

/** A run's logger, bound to its ids on its first line: binding costs a stringify, most runs write no line. */
export class RunLog {
  private bound: Logger | undefined;
  constructor(
    private readonly base: Logger,
    readonly bindings: Readonly<Record<string, string>>,
  ) {}
  get log(): Logger {
    return (this.bound ??= this.base.child(this.bindings));
  }
}

/** The server's runs in flight by run id: a node's line finds its run's logger through the run id in its config. */
const runsInFlight = new Map<string, RunLog>();

/** Registers the run for its nodes' lines until the returned function is called. */
export function runInFlight(runId: string, runLog: RunLog): () => void {
  runsInFlight.set(runId, runLog);
  return () => runsInFlight.delete(runId);
}

/**
 * A logger for a line at `level`, bound to the run of the node running now, or undefined when
 * that level is off: `logAt("info")?.info({...}, "...")` builds nothing when it would write nothing.
 */
export function logAt(level: Level): Logger | undefined {
  const logger = rootLog();
  if (!logger.isLevelEnabled(level)) return undefined;
  const configurable = (
    AsyncLocalStorageProviderSingleton.getRunnableConfig() as { configurable?: Record<string, unknown> } | undefined
  )?.configurable;
  const runId = configurable?.run_id;
  const served = typeof runId === "string" ? runsInFlight.get(runId) : undefined;
  if (served) return served.log;
  // A CLI run: no run id, no server; its thread is what it is known by.
  const threadId = configurable?.thread_id;
  return typeof threadId === "string" ? logger.child({ thread_id: threadId }) : logger;
}

/**
 * `12:00:01.234 WARN  message  key=value …` for a person at a terminal: nested objects (an alert,
 * a step's action) are left to the JSON lines, where a program reads them.
 */
export function readableLine(json: string): string {
  const { time, level, msg, pid: _pid, ...fields } = JSON.parse(json) as Record<string, unknown>;
  const clock = typeof time === "string" ? time.slice(11, 23) : "";
  const rest = Object.entries(fields)
    .filter(([, value]) => typeof value !== "object" || value === null || Array.isArray(value))
    .map(([key, value]) => `${key}=${typeof value === "string" ? value : JSON.stringify(value)}`);
  return `${clock} ${String(level).toUpperCase().padEnd(5)} ${msg ?? ""}${rest.length ? `  ${rest.join(" ")}` : ""}\n`;
}

function readableLines(out: NodeJS.WritableStream): DestinationStream {
  return { write: (json: string) => void out.write(readableLine(json)) };
}
