import type { Context } from "hono";
import type { z } from "zod";
import { firstLine, toJson } from "./serialise.js";

/** An answer other than 200 that the client caused: its status and one line saying why and what to do. */
export class HttpError extends Error {
  constructor(
    readonly status: 400 | 401 | 404 | 409 | 422,
    message: string,
  ) {
    super(message);
  }
}

export async function body<T extends z.ZodType>(c: Context, schema: T): Promise<z.infer<T>> {
  let raw: unknown;
  const text = await c.req.text();
  try {
    raw = text.trim() === "" ? {} : JSON.parse(text);
  } catch {
    throw new HttpError(400, "the request body is not valid JSON; send a JSON object");
  }
  return parse(schema, raw);
}

export function parse<T extends z.ZodType>(schema: T, raw: unknown): z.infer<T> {
  const parsed = schema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const where = issue.path.length ? issue.path.join(".") : "request";
  throw new HttpError(422, `invalid ${where}: ${firstLine(issue.message)}`);
}

export function json(c: Context, value: unknown, status: 200 | 201 = 200): Response {
  return c.body(toJson(value), status, { "content-type": "application/json" });
}
