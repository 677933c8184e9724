import { z } from "zod";

/**
 * What a step does when it fails, after its own retry policy gave up: run again (`retry` more
 * times, a map only its failed children), then fail the run, or hand over to another step
 * (`goto`): a fallback that does the work another way, or a human_approval that escalates to a
 * person. The step named stands in for the failed one: its dependents run once it completed.
 */
export const OnFailureSchema = z
  .object({
    retry: z.number().int().min(1).max(20).optional(),
    then: z.enum(["fail", "goto"], { error: () => "onFailure.then must be fail or goto" }).default("fail"),
    step: z.string().optional(),
  })
  .strict();
export type OnFailure = z.infer<typeof OnFailureSchema>;
