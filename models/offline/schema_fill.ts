import { clip, keyPhrases, round2, sentences, unit, type Prompt } from "./text.js";

/** The parts of JSON Schema a tool's parameters use in practice. */
export interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema | JsonSchema[];
  enum?: unknown[];
  const?: unknown;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
  $ref?: string;
  $defs?: Record<string, JsonSchema>;
  definitions?: Record<string, JsonSchema>;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  minItems?: number;
  maxItems?: number;
  minLength?: number;
  maxLength?: number;
  format?: string;
}

interface Context {
  root: JsonSchema;
  phrases: string[];
  sentences: string[];
  seed: number;
  /** Counts the choices made, so successive fields take different phrases. */
  choice: number;
}

/** Recursive schemas stop here, with the smallest value their type allows. */
const MAX_DEPTH = 8;

function resolve(ref: string, root: JsonSchema): JsonSchema {
  if (ref === "#") return root;
  const [, bucket, name] = /^#\/(\$defs|definitions)\/(.+)$/.exec(ref) ?? [];
  return (bucket && name ? root[bucket as "$defs" | "definitions"]?.[name] : undefined) ?? {};
}

function typeOf(schema: JsonSchema): string {
  const types = Array.isArray(schema.type) ? schema.type : schema.type ? [schema.type] : [];
  if (types.length) return types.find((t) => t !== "null") ?? "null";
  return schema.properties ? "object" : schema.items ? "array" : "string";
}

function fillString(schema: JsonSchema, key: string, ctx: Context): string {
  const k = ctx.choice++;
  const day = Date.UTC(2025, 0, 1) + Math.floor(unit(ctx.seed, k) * 365) * 86_400_000;
  const slug = (ctx.phrases[k % ctx.phrases.length] ?? "item")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .slice(0, 30);
  let text: string;
  if (schema.format === "date-time") text = new Date(day).toISOString();
  else if (schema.format === "date") text = new Date(day).toISOString().slice(0, 10);
  else if (schema.format === "email") text = `${slug}@example.com`;
  else if (schema.format === "uri" || schema.format === "url") text = `https://example.com/${slug}`;
  else if (/summary|description|rationale|reason|explanation|text|content|answer|message/i.test(key)) {
    text = ctx.sentences[k % Math.max(1, ctx.sentences.length)] ?? ctx.phrases[0] ?? "";
  } else text = ctx.phrases[k % ctx.phrases.length] ?? "";
  if (schema.maxLength !== undefined) text = text.slice(0, schema.maxLength);
  return text.padEnd(schema.minLength ?? 0, ".");
}

/** zod writes the safe-integer range as the bounds of every `.int()`: that is no bound at all. */
const bound = (x: number | undefined) => (x !== undefined && Math.abs(x) < Number.MAX_SAFE_INTEGER ? x : undefined);

function fillNumber(schema: JsonSchema, integer: boolean, ctx: Context): number {
  const step = integer ? 1 : 0.01;
  const exclusiveMin = bound(schema.exclusiveMinimum);
  const exclusiveMax = bound(schema.exclusiveMaximum);
  const lo = bound(schema.minimum) ?? (exclusiveMin !== undefined ? exclusiveMin + step : 0);
  const hi = bound(schema.maximum) ?? (exclusiveMax !== undefined ? exclusiveMax - step : lo + (integer ? 10 : 1));
  const value = lo + (hi - lo) * (0.25 + 0.5 * unit(ctx.seed, ctx.choice++));
  return integer ? Math.round(value) : round2(value);
}

function fill(schema: JsonSchema, key: string, ctx: Context, depth: number): unknown {
  if (schema.$ref) return fill(resolve(schema.$ref, ctx.root), key, ctx, depth + 1);
  if (schema.const !== undefined) return schema.const;
  if (schema.enum?.length) return schema.enum[Math.floor(unit(ctx.seed, ctx.choice++) * schema.enum.length)];
  const options = schema.anyOf ?? schema.oneOf;
  if (options?.length) return fill(options.find((o) => o.type !== "null") ?? options[0]!, key, ctx, depth + 1);
  if (schema.allOf?.length) {
    const merged = schema.allOf.reduce<JsonSchema>(
      (acc, part) => ({ ...acc, ...part, properties: { ...acc.properties, ...part.properties } }),
      {},
    );
    return fill(merged, key, ctx, depth + 1);
  }
  switch (typeOf(schema)) {
    case "object": {
      if (depth > MAX_DEPTH) return {};
      return Object.fromEntries(
        Object.entries(schema.properties ?? {}).map(([name, property]) => [name, fill(property, name, ctx, depth + 1)]),
      );
    }
    case "array": {
      if (Array.isArray(schema.items)) return schema.items.map((item) => fill(item, key, ctx, depth + 1));
      const wanted = depth > MAX_DEPTH ? 0 : Math.min(2, schema.maxItems ?? 2);
      const length = Math.max(schema.minItems ?? 0, wanted);
      const items = schema.items ?? {};
      return Array.from({ length }, () => fill(items, key, ctx, depth + 1));
    }
    case "integer":
      return fillNumber(schema, true, ctx);
    case "number":
      return fillNumber(schema, false, ctx);
    case "boolean":
      return unit(ctx.seed, ctx.choice++) < 0.5;
    case "null":
      return null;
    default:
      return fillString(schema, key, ctx);
  }
}

/**
 * Arguments for a tool no skill knows: every field filled from the schema, strings
 * cut from the prompt, so users' own agents run offline too.
 */
export function fillSchema(prompt: Prompt, seed: number, schema: JsonSchema): Record<string, unknown> {
  const source = prompt.last || prompt.material || prompt.text;
  const ctx: Context = {
    root: schema,
    phrases: keyPhrases(prompt.material || prompt.text, 12),
    sentences: sentences(source).map((s) => clip(s, 200)),
    seed,
    choice: 0,
  };
  const value = fill(schema, "", ctx, 0);
  return value !== null && typeof value === "object" && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : { value };
}
