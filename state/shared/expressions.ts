import { parse } from "@marcbachmann/cel-js";

/**
 * Conditions, loop conditions and mappings are CEL: side-effect free, always terminating,
 * and with no way to reach the process. A parse is cached per expression text.
 */
type Compiled = ReturnType<typeof parse>;
const compiled = new Map<string, Compiled>();

/** Parses the expression; throws with the parser's first line when it is not CEL. */
export function compileExpression(text: string): Compiled {
  let program = compiled.get(text);
  if (!program) {
    try {
      program = parse(text);
    } catch (error) {
      throw new Error(firstLine(error));
    }
    compiled.set(text, program);
  }
  return program;
}

/**
 * CEL keeps int and double apart (`count + 1` has no overload for a double count), and JSON
 * has one number type: whole numbers go in as ints, the rest as doubles, and ints come back
 * as plain numbers.
 */
function toCel(value: unknown): unknown {
  if (typeof value === "number") return Number.isSafeInteger(value) ? BigInt(value) : value;
  if (Array.isArray(value)) return value.map(toCel);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, toCel(item)]));
  }
  return value;
}

function fromCel(value: unknown): unknown {
  if (typeof value === "bigint") return Number(value);
  if (Array.isArray(value)) return value.map(fromCel);
  if (value instanceof Map) return Object.fromEntries([...value].map(([key, item]) => [String(key), fromCel(item)]));
  if (value !== null && typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, fromCel(item)]));
  }
  return value;
}

/** The expression's value over the scope, as JSON-friendly values. Throws one line on a failure. */
export function evaluateExpression(text: string, scope: Record<string, unknown>): unknown {
  const program = compileExpression(text);
  try {
    return fromCel(program(toCel(scope) as Record<string, unknown>));
  } catch (error) {
    throw new Error(`'${text}': ${firstLine(error)}`);
  }
}

/** A condition: its value must be a bool. */
export function evaluateCondition(text: string, scope: Record<string, unknown>): boolean {
  const value = evaluateExpression(text, scope);
  if (typeof value !== "boolean") throw new Error(`'${text}' gave ${JSON.stringify(value)}, not true or false`);
  return value;
}

function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split("\n")[0]!.trim();
}
