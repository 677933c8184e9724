import type { MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { every } from "hono/combine";
import { z } from "zod";
import { envValue } from "../db/env.js";
import { InputError } from "../state/shared/errors.js";

/** The largest request body by default: the size task and definition files are held to. */
export const DEFAULT_MAX_BODY_BYTES = 5 * 1024 * 1024;

const MaxBodyBytes = z.coerce.number().int().positive();

/** ORCHESTRA_MAX_BODY_BYTES, or 5 MB when unset. */
export function maxBodyBytes(): number {
  const raw = envValue("ORCHESTRA_MAX_BODY_BYTES");
  if (raw === undefined) return DEFAULT_MAX_BODY_BYTES;
  const parsed = MaxBodyBytes.safeParse(raw);
  if (!parsed.success)
    throw new InputError(
      `ORCHESTRA_MAX_BODY_BYTES must be a whole number of bytes above 0, got ${JSON.stringify(raw)}`,
    );
  return parsed.data;
}

const JSON_TYPE = /^application\/([\w.+-]+\+)?json\s*(;|$)/i;

/**
 * Request bodies are JSON and at most `maxBytes`: a larger one is refused with 413 before it is
 * read whole (from its Content-Length, or as it streams in), a body of another type with 415.
 * A body without a Content-Type is read as JSON, as the routes always have.
 */
export function requestBodies(maxBytes = maxBodyBytes()): MiddlewareHandler {
  const jsonOnly: MiddlewareHandler = async (c, next) => {
    const type = c.req.header("content-type");
    const empty = c.req.raw.body === null || c.req.header("content-length") === "0";
    if (empty || type === undefined || JSON_TYPE.test(type)) return next();
    return c.json(
      {
        error: "UnsupportedMediaType",
        message: `request bodies are JSON, not ${type.split(";")[0]}: send content-type: application/json`,
      },
      415,
    );
  };
  const limited = bodyLimit({
    maxSize: maxBytes,
    onError: (c) =>
      c.json(
        {
          error: "PayloadTooLarge",
          message: `the request body is larger than ${maxBytes} bytes (ORCHESTRA_MAX_BODY_BYTES): send less`,
        },
        413,
      ),
  });
  return every(jsonOnly, limited);
}
