import type { RunnableConfig } from "@langchain/core/runnables";
import { z } from "zod";
import { isCommand } from "@langchain/langgraph";
import { parseWorkflowInput, type WorkflowInput } from "./input.js";
import { InputError } from "../shared/errors.js";
import {
  BranchTimeoutMsSettingSchema,
  MaxConcurrencySettingSchema,
  ModelSettingSchema,
  QualityThresholdSettingSchema,
  ReviewSettingSchema,
} from "../shared/settings.js";
import { SourcesSettingsSchema } from "../shared/sources.js";

/**
 * The run's configuration. The CLI, the server, Studio and the tests all use these
 * key names.
 */
export const SettingsSchema = z.object({
  model: ModelSettingSchema,
  review: ReviewSettingSchema,
  qualityThreshold: QualityThresholdSettingSchema,
  maxRetries: z.number().int().min(0).max(10).default(2).describe("Retries per failed branch"),
  maxRevisions: z.number().int().min(0).max(10).default(2).describe("Revision rounds after quality_validator"),
  maxConcurrency: MaxConcurrencySettingSchema,
  branchTimeoutMs: BranchTimeoutMsSettingSchema,
  ...SourcesSettingsSchema.shape,
});

export type Settings = z.infer<typeof SettingsSchema>;
export const SETTINGS_KEYS = Object.keys(SettingsSchema.shape) as (keyof Settings)[];

/**
 * The graph's context schema: the settings, each optional because ensureConfiguration
 * fills in the defaults. The LangGraph server turns it into the config schema Studio edits.
 */
export const ConfigurationSchema = SettingsSchema.partial();

type ConfigurationSource = Pick<RunnableConfig, "configurable"> & { context?: unknown };

function givenSettings(source: unknown): Record<string, unknown> {
  const values = (source !== null && typeof source === "object" ? source : {}) as Record<string, unknown>;
  return Object.fromEntries(
    SETTINGS_KEYS.filter((key) => values[key] !== undefined && values[key] !== null).map((key) => [key, values[key]]),
  );
}

/**
 * Reads and validates the settings from a run's config, filling in defaults. The CLI
 * and older clients pass them in `configurable`; the server passes an assistant's or a
 * run's `context` too, which wins key by key.
 */
export function ensureConfiguration(config?: ConfigurationSource): Settings {
  const given = { ...givenSettings(config?.configurable), ...givenSettings(config?.context) };
  const parsed = SettingsSchema.safeParse(given);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new InputError(`invalid configuration: ${issue.path.join(".")}: ${issue.message}`);
  }
  return parsed.data;
}

/**
 * Checks a run's input and settings the way the CLI does, before LangGraph saves the
 * input: a run that fails here leaves no checkpoint, so a bad first run cannot leave a
 * thread with settings no later run overrides. A resume or a run without input (a
 * Command, or null) carries no task, so only its settings are checked.
 */
export function checkRunRequest(input: unknown, config: ConfigurationSource): void {
  if (input !== null && input !== undefined && !isCommand(input)) {
    parseWorkflowInput(input);
    const { settings } = input as WorkflowInput;
    if (settings) ensureConfiguration({ configurable: settings });
  }
  ensureConfiguration(config);
}
