// CONTRACT STUB — implemented by the models helper.
import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
export type ModelSpec = { provider: "offline" } | { provider: "openai"; name: string };
export declare function parseModelSpec(spec: string): ModelSpec;
export declare function defaultModelSpec(env?: NodeJS.ProcessEnv): string;
export declare function createChatModel(spec: string): BaseChatModel;
