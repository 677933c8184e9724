import type { Context, ErrorHandler, MiddlewareHandler, NotFoundHandler } from "hono";
import pg from "pg";
import type { z } from "zod";
import { InputError } from "../state/shared/errors.js";
import { logAt, rootLog } from "../checkpoints/log.js";
import * as schemas from "./schemas.js";
import { errorBody, firstLine, toJson } from "./serialise.js";

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

export const threadIdParam = (c: Context) => parse(schemas.ThreadId, c.req.param("thread_id"));

export function json(c: Context, value: unknown, status: 200 | 201 = 200): Response {
  return c.body(toJson(value), status, { "content-type": "application/json" });
}

/** A debug line per request, once answered; nothing is measured when debug is off. */
export const requestLines: MiddlewareHandler = async (c, next) => {
  if (!rootLog().isLevelEnabled("debug")) return next();
  const started = performance.now();
  await next();
  logAt("debug")?.debug(
    { method: c.req.method, path: c.req.path, status: c.res.status, ms: Math.round(performance.now() - started) },
    "request",
  );
};

/** Studio's origin: its browser calls this server directly. */
export const STUDIO_ORIGIN = "https://smith.langchain.com";

/** Errors as the SDK reads them: the client's mistakes with their 4xx and one line, the rest 500 and logged. */
export const answerError: ErrorHandler = (error, c) => {
  if (error instanceof HttpError)
    return c.json({ error: httpErrorName(error.status), message: error.message }, error.status);
  if (error instanceof InputError) return c.json({ error: "InvalidInput", message: firstLine(error.message) }, 422);
  // A statement given a value Postgres cannot take (a malformed id, a too-large number) is bad input too.
  if (isPostgresDataError(error)) return c.json({ error: "InvalidInput", message: firstLine(error.message) }, 422);
  rootLog().error({ method: c.req.method, path: c.req.path, err: errorBody(error).message }, "request failed");
  return c.json({ error: "InternalError", message: errorBody(error).message }, 500);
};

export const answerNotFound: NotFoundHandler = (c) =>
  c.json({ error: "NotFound", message: `${c.req.method} ${c.req.path} is not a route of this server` }, 404);

export function httpErrorName(status: number): string {
  return (
    { 400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 409: "Conflict", 422: "InvalidInput" }[
      status
    ] ?? "Error"
  );
}

function isPostgresDataError(error: unknown): error is pg.DatabaseError {
  // Class 22: data exception (invalid text representation, numeric value out of range...).
  return error instanceof pg.DatabaseError && (error.code ?? "").startsWith("22");
}
