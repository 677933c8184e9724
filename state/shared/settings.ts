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
