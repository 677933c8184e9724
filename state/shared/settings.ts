import { z } from "zod";
import { defaultModelSpec, parseModelSpec } from "../../models/index.js";

/** Settings every workflow that calls a chat model or fans out shares, described once. */

/** The widest wave a thread may ask for. */
export const MAX_CONCURRENCY = 1000;

export const ModelSettingSchema = z
  .string()
  .refine((spec) => {
    try {
      parseModelSpec(spec);
      return true;
    } catch {
      return false;
    }
  }, "must be 'offline' or 'openai:<model-name>'")
  .default(() => defaultModelSpec())
  .describe("Chat model: 'offline' (deterministic, no network) or 'openai:<model-name>'");

export const MaxConcurrencySettingSchema = z
  .number()
  .int()
  .min(1)
  .max(MAX_CONCURRENCY)
  .default(5)
  .describe("Most branches the machine may run at once");

export const ReviewSettingSchema = z
  .enum(["always", "never"])
  .default("always")
  .describe("Pause for a human review before sync_point_manager and quality_validator");

export const QualityThresholdSettingSchema = z
  .number()
  .min(0)
  .max(1)
  .default(0.8)
  .describe("Lowest quality score quality_validator approves");

export const BranchTimeoutMsSettingSchema = z
  .number()
  .int()
  .min(100)
  .max(3_600_000)
  .default(120_000)
  .describe("Time a branch may take before it is cut off and counted as failed");
