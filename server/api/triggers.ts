import { createHash } from "node:crypto";
import { Hono } from "hono";
import {
  IDEMPOTENCY_HEADER,
  SIGNATURE_HEADER,
  TIMESTAMP_HEADER,
  secretEnvName,
  signatureProblem,
} from "../../state/shared/triggers.js";
import { HttpError } from "../http.js";
import type { TriggerService } from "../triggers.js";

/** The longest idempotency key kept: a key is an id, not a payload. */
const MAX_KEY_LENGTH = 200;

/**
 * POST /triggers/{name}: a signed event starts its workflow (202 with the thread and run). Mounted
 * before authentication: the caller proves itself with the trigger's HMAC signature instead.
 * The idempotency key is the (signed) Idempotency-Key header, else the SHA-256 of the body, so a
 * retried request answers with the run the first one started.
 */
export function triggersApi(triggers: TriggerService): Hono {
  const api = new Hono();
  api.post("/triggers/:name", async (c) => {
    const name = c.req.param("name");
    const trigger = triggers.get(name);
    if (!trigger) {
      triggers.count(undefined, "rejected");
      throw new HttpError(
        404,
        `no trigger named ${JSON.stringify(name)}: 'orchestra triggers list' shows those this server has`,
      );
    }
    if (trigger.source !== "http") {
      triggers.count(name, "rejected");
      throw new HttpError(
        404,
        `trigger ${name} takes NATS messages on ${trigger.subject}, not HTTP requests: publish there`,
      );
    }
    const secret = process.env[secretEnvName(trigger)!];
    if (!secret) {
      triggers.count(name, "rejected");
      return c.json(
        {
          error: "ServiceUnavailable",
          message: `trigger ${name} has no secret: set ${secretEnvName(trigger)} on the server and restart it`,
        },
        503,
      );
    }
    const raw = await c.req.text();
    const idempotencyKey = c.req.header(IDEMPOTENCY_HEADER);
    const request = {
      body: raw,
      signature: c.req.header(SIGNATURE_HEADER),
      timestamp: c.req.header(TIMESTAMP_HEADER),
      idempotencyKey,
    };
    const problem = signatureProblem(secret, request, Math.floor(Date.now() / 1000));
    if (problem) {
      triggers.count(name, "rejected");
      throw new HttpError(401, `trigger ${name}: ${problem}`);
    }
    let event: unknown;
    try {
      event = JSON.parse(raw);
    } catch {
      triggers.count(name, "rejected");
      throw new HttpError(422, `trigger ${name}: the body is not valid JSON; send the event as a JSON value`);
    }
    const key = idempotencyKey ?? createHash("sha256").update(raw).digest("hex");
    if (key.length === 0 || key.length > MAX_KEY_LENGTH) {
      triggers.count(name, "rejected");
      throw new HttpError(422, `trigger ${name}: ${IDEMPOTENCY_HEADER} must be 1 to ${MAX_KEY_LENGTH} characters`);
    }
    return c.json(await triggers.handle(trigger, key, event), 202);
  });
  return api;
}
