import type { CallbackManagerForLLMRun } from "@langchain/core/callbacks/manager";
import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import type { BaseMessage } from "@langchain/core/messages";
import type { ChatGenerationChunk, ChatResult } from "@langchain/core/outputs";
import { ChatOpenAI, type ChatOpenAIFields } from "@langchain/openai";
import { breakerOptions, processBreakers, throughBreaker } from "../checkpoints/breakers.js";
import { logAt } from "../checkpoints/log.js";
import { InputError } from "../state/shared/errors.js";
import { OfflineChatModel } from "./offline/model.js";
import { type OfflineSkills, offlineSkillTable } from "./offline/skills.js";

export type ModelSpec = { provider: "offline" } | { provider: "openai"; name: string };

export const DEFAULT_OPENAI_MODEL = "openai:gpt-4o-mini";

function specOf(spec: string): ModelSpec | undefined {
  if (spec === "offline") return { provider: "offline" };
  const name = /^openai:(\S+)$/.exec(spec)?.[1];
  return name ? { provider: "openai", name } : undefined;
}

function invalid(spec: string, setting: string): InputError {
  const shown = spec.length > 60 ? `${spec.slice(0, 60)}…` : spec;
  return new InputError(`invalid ${setting} '${shown}': use 'offline' or 'openai:<model-name>'`);
}

/** Parses a model setting; throws InputError on anything else. */
export function parseModelSpec(spec: string): ModelSpec {
  const parsed = specOf(spec);
  if (!parsed) throw invalid(spec, "model");
  return parsed;
}

/** ORCHESTRA_MODEL if set, else OpenAI when a key is configured, else the offline model. */
export function defaultModelSpec(env: NodeJS.ProcessEnv = process.env): string {
  const chosen = env.ORCHESTRA_MODEL;
  if (chosen !== undefined && chosen !== "") {
    if (!specOf(chosen)) throw invalid(chosen, "ORCHESTRA_MODEL");
    return chosen;
  }
  return env.OPENAI_API_KEY ? DEFAULT_OPENAI_MODEL : "offline";
}

let skillTable: Promise<OfflineSkills> | undefined;

/**
 * The offline model's set-up: the shared skills and those of every registered workflow, loaded
 * from their manifests on the first offline call (importing a graph registers nothing).
 */
function offlineSkills(): Promise<OfflineSkills> {
  skillTable ??= import("../graphs/registry.js").then(async ({ workflowOfflineSkills }) =>
    offlineSkillTable(await workflowOfflineSkills()),
  );
  return skillTable;
}

/**
 * The chat model for a spec. OpenAI models honour OPENAI_BASE_URL, so any server that
 * speaks the protocol (Ollama, vLLM, LM Studio) works too.
 */
export function createChatModel(spec: string, env: NodeJS.ProcessEnv = process.env): BaseChatModel {
  const parsed = parseModelSpec(spec);
  if (parsed.provider === "offline") return new OfflineChatModel({ skills: offlineSkills });
  const apiKey = env.OPENAI_API_KEY;
  if (!apiKey) throw new InputError(`model '${spec}' needs OPENAI_API_KEY; or use 'offline'`);
  const baseURL = env.OPENAI_BASE_URL || undefined;
  const fields = {
    model: parsed.name,
    apiKey,
    breakerEndpoint: modelEndpoint(baseURL),
    env,
    // Transient errors (429, honouring retry-after; 5xx; resets) are retried here and only here:
    // twice, with exponential backoff. What gets past them fails the branch, and the workflow's
    // sync rules decide what to do with it; retrying in more layers would multiply the attempts.
    maxRetries: 2,
    ...(baseURL ? { configuration: { baseURL } } : {}),
  };
  // Logged whole: its key and environment are redacted by path (checkpoints/log.ts).
  logAt("debug")?.debug({ model: fields }, "chat model");
  return new KeySafeChatOpenAI(fields);
}

/** A model endpoint's breaker name: origin and path of the base URL, never its credentials or query. */
export function modelEndpoint(baseURL: string | undefined): string {
  const url = new URL(baseURL ?? "https://api.openai.com/v1");
  return `model:${url.origin}${url.pathname.replace(/\/$/, "")}`;
}

/**
 * Whether a model call's error says the endpoint is unwell: a status other than a client error
 * (408 and 429 excepted), or no answer at all. A request the endpoint refused as malformed, and a
 * call the run itself cancelled, count for nothing.
 */
export function endpointFailure(error: Error): boolean {
  if (error.name === "AbortError" || /aborted/i.test(error.message)) return false;
  const status = "status" in error && typeof error.status === "number" ? error.status : undefined;
  return status === undefined || status < 400 || status >= 500 || status === 408 || status === 429;
}

/**
 * The chunks of `source` as they come, produced inside `guard`: the breaker sees the whole stream
 * as one call, a failure anywhere in it included, and the caller still gets each chunk at once.
 */
async function* guardedStream<T>(
  guard: (call: () => Promise<void>) => Promise<void>,
  source: () => AsyncIterable<T>,
): AsyncGenerator<T> {
  const queue: T[] = [];
  let wake: (() => void) | undefined;
  let outcome: { error?: unknown } | undefined;
  void guard(async () => {
    for await (const item of source()) {
      queue.push(item);
      wake?.();
    }
  })
    .then(
      () => (outcome = {}),
      (error: unknown) => (outcome = { error }),
    )
    .finally(() => wake?.());
  for (;;) {
    if (queue.length) {
      yield queue.shift()!;
      continue;
    }
    if (outcome) {
      if ("error" in outcome) throw outcome.error;
      return;
    }
    await new Promise<void>((resolve) => (wake = resolve));
    wake = undefined;
  }
}

/**
 * ChatOpenAI whose errors never carry the API key. Some OpenAI-compatible servers echo the key
 * in their error messages, and an error message travels far: into the failed branch's result and
 * the timeline (so into the checkpoints), into LangGraph's saved error write, and onto the terminal.
 */
class KeySafeChatOpenAI extends ChatOpenAI {
  private readonly key: string;
  private readonly breakerEndpoint: string;
  private readonly env: NodeJS.ProcessEnv;

  constructor(fields: ChatOpenAIFields & { apiKey: string; breakerEndpoint: string; env: NodeJS.ProcessEnv }) {
    super(fields);
    this.key = fields.apiKey;
    this.breakerEndpoint = fields.breakerEndpoint;
    this.env = fields.env;
  }

  /** The call through the endpoint's circuit breaker (checkpoints/breakers.ts), shared with every process on the database. */
  private async guarded<T>(call: () => Promise<T>): Promise<T> {
    return throughBreaker(await processBreakers(), this.breakerEndpoint, call, {
      ...breakerOptions(this.env),
      counts: endpointFailure,
    });
  }

  // ChatOpenAI's withConfig (and so withStructuredOutput and bindTools) builds a plain ChatOpenAI.
  override withConfig(config: Partial<this["ParsedCallOptions"]>): KeySafeChatOpenAI {
    const model = new KeySafeChatOpenAI({
      ...this.fields,
      apiKey: this.key,
      breakerEndpoint: this.breakerEndpoint,
      env: this.env,
    });
    model.defaultOptions = { ...this.defaultOptions, ...config };
    return model;
  }

  override async _generate(
    messages: BaseMessage[],
    options: this["ParsedCallOptions"],
    runManager?: CallbackManagerForLLMRun,
  ): Promise<ChatResult> {
    try {
      return await this.guarded(() => super._generate(messages, options, runManager));
    } catch (error) {
      throw withoutSecret(error, this.key);
    }
  }

  override async *_streamResponseChunks(
    messages: BaseMessage[],
    options: this["ParsedCallOptions"],
    runManager?: CallbackManagerForLLMRun,
  ): AsyncGenerator<ChatGenerationChunk> {
    try {
      yield* guardedStream(
        (call) => this.guarded(call),
        () => super._streamResponseChunks(messages, options, runManager),
      );
    } catch (error) {
      throw withoutSecret(error, this.key);
    }
  }
}

/** The error with every occurrence of `secret` in its message and stack masked; its class and status kept. */
function withoutSecret(error: unknown, secret: string): unknown {
  if (!(error instanceof Error) || !secret) return error;
  const mask = (text: string) => text.split(secret).join("***");
  error.message = mask(error.message);
  if (error.stack) error.stack = mask(error.stack);
  return error;
}
