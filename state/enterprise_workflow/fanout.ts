import { z } from "zod";

/**
 * A map step's fan-out, as Step Functions' Map: `items` is a CEL expression giving the list, one
 * child per item; each child's inputMapping sees the item under `itemName` and its `index`. The
 * step fails once more children failed than either tolerance allows; none given tolerates none.
 */
export const MapSpecSchema = z
  .object({
    items: z.string().trim().min(1, "map.items must be a CEL expression giving a list"),
    itemName: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "map.itemName must be an identifier")
      .default("item"),
    toleratedFailureCount: z.number().int().min(0).optional(),
    toleratedFailurePercentage: z.number().min(0).max(100).optional(),
  })
  .strict();
export type MapSpec = z.infer<typeof MapSpecSchema>;
