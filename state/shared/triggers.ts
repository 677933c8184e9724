import { createHmac, timingSafeEqual } from "node:crypto";
import { z } from "zod";
import { InputError } from "./errors.js";
import { compileExpression, evaluateCondition, evaluateExpression } from "./expressions.js";

/**
 * Triggers: an event from outside (a signed HTTP request, a NATS JetStream message) that starts a
 * workflow's thread, or signals the thread waiting for it. Declared per workflow: an engine
 * definition's `triggers:`, or graphs/triggers.yaml for the other workflows. Filters and mappings
 * are CEL over `event` (the JSON payload) and `subject` (a NATS message's).
 */

export const TRIGGER_SOURCES = ["http", "nats"] as const;
export const TRIGGER_ACTIONS = ["start", "signal"] as const;

/** `${env:NAME}`: the secret is read from the server's environment, never written anywhere. */
const ENV_SECRET = /^\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}$/;

const expression = z
  .string()
  .trim()
  .min(1, "must not be empty")
  .superRefine((text, ctx) => {
    try {
      compileExpression(text);
    } catch (error) {
      ctx.addIssue({ code: "custom", message: `not CEL: ${(error as Error).message}` });
    }
  });

export const TriggerSchema = z
  .object({
    name: z
      .string()
      .regex(
        /^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/,
        "a trigger name holds letters, digits, _ . - and starts with a letter or digit",
      ),
    description: z.string().default(""),
    source: z.enum(TRIGGER_SOURCES, { error: () => `source must be ${TRIGGER_SOURCES.join(" or ")}` }),
    /** nats: the subject its durable consumer reads (wildcards allowed). */
    subject: z.string().trim().min(1).optional(),
    /** http: `${env:NAME}`, the HMAC-SHA256 key callers sign with. */
    secret: z
      .string()
      .regex(ENV_SECRET, "secret must be an env reference like ${env:ORDERS_TRIGGER_SECRET}")
      .optional(),
    /** When given, an event it does not hold for is refused (HTTP 422; a NATS message is acked and dropped). */
    filter: expression.optional(),
    /** The run's input (start) or the waiting step's payload (signal). */
    input: expression.default("event"),
    action: z.enum(TRIGGER_ACTIONS, { error: () => `action must be ${TRIGGER_ACTIONS.join(" or ")}` }).default("start"),
    /** signal: the waiting thread's correlation key, computed from the event. */
    correlation: expression.optional(),
  })
  .strict()
  .superRefine((trigger, ctx) => {
    if (trigger.source === "http" && !trigger.secret)
      ctx.addIssue({ code: "custom", path: ["secret"], message: "an http trigger needs a secret: ${env:NAME}" });
    if (trigger.source === "nats" && !trigger.subject)
      ctx.addIssue({ code: "custom", path: ["subject"], message: "a nats trigger needs a subject" });
    if (trigger.action === "signal" && !trigger.correlation)
      ctx.addIssue({
        code: "custom",
        path: ["correlation"],
        message: "a signal trigger needs a correlation expression",
      });
  });
export type Trigger = z.infer<typeof TriggerSchema>;

/** A trigger as the server serves it: whose workflow it starts or signals, and how its mapped input becomes the run's. */
export interface WorkflowTrigger extends Trigger {
  workflow: string;
  /** The engine definition that declared it; a signal only reaches threads of that definition. */
  definition?: string;
  /** Where it is declared, for messages. */
  declaredIn: string;
  /** The run's input from the mapped event (the engine wraps it with its definition's name and the event's id, for its audit trail). */
  runInput(mapped: unknown, eventId: string): unknown;
}

/** The env variable holding the trigger's secret. */
export const secretEnvName = (trigger: Pick<Trigger, "secret">): string | undefined =>
  trigger.secret ? ENV_SECRET.exec(trigger.secret)?.[1] : undefined;

export type EventOutcome =
  | { accepted: true; input: unknown; correlationKey?: string }
  | { accepted: false; reason: string };

/** What the trigger makes of an event: refused by its filter, or the mapped input (and the correlation key of a signal). */
export function evaluateEvent(trigger: Trigger, event: unknown, subject?: string): EventOutcome {
  const scope = { event, subject: subject ?? "" };
  try {
    if (trigger.filter && !evaluateCondition(trigger.filter, scope))
      return { accepted: false, reason: `trigger ${trigger.name}'s filter refused the event: ${trigger.filter}` };
    const input = evaluateExpression(trigger.input, scope);
    if (!trigger.correlation) return { accepted: true, input };
    const key = evaluateExpression(trigger.correlation, scope);
    if (typeof key !== "string" && typeof key !== "number")
      return {
        accepted: false,
        reason: `trigger ${trigger.name}'s correlation gave ${JSON.stringify(key)}, not a string or number`,
      };
    return { accepted: true, input, correlationKey: String(key) };
  } catch (error) {
    return { accepted: false, reason: `trigger ${trigger.name} cannot read the event: ${(error as Error).message}` };
  }
}

/** Header names of a signed HTTP event. */
export const SIGNATURE_HEADER = "x-orchestra-signature";
export const TIMESTAMP_HEADER = "x-orchestra-timestamp";
export const IDEMPOTENCY_HEADER = "idempotency-key";

/** Older or newer than this, a signed request is refused: a captured request cannot be replayed later. */
export const SIGNATURE_TOLERANCE_SECONDS = 300;

/**
 * `sha256=<hex>` of HMAC-SHA256 over `<timestamp>.<idempotency key>.<raw body>` (the key empty when
 * none is sent): the timestamp and the key are signed with the body, so a captured request can be
 * neither replayed later nor replayed under another key to start a second run.
 */
export function signEvent(secret: string, timestamp: number, body: string, idempotencyKey = ""): string {
  return `sha256=${createHmac("sha256", secret).update(`${timestamp}.${idempotencyKey}.${body}`).digest("hex")}`;
}

export interface SignedRequest {
  body: string;
  signature: string | undefined;
  timestamp: string | undefined;
  idempotencyKey: string | undefined;
}

/** Why a signed request is refused, or undefined when its signature and timestamp hold. Compared in constant time. */
export function signatureProblem(secret: string, request: SignedRequest, nowSeconds: number): string | undefined {
  const { body, signature, timestamp, idempotencyKey } = request;
  if (!signature || !timestamp)
    return `send ${SIGNATURE_HEADER} and ${TIMESTAMP_HEADER} (HMAC-SHA256 of "<timestamp>.<idempotency key>.<body>" with the trigger's secret)`;
  const at = Number(timestamp);
  if (!/^\d+$/.test(timestamp) || !Number.isSafeInteger(at))
    return `${TIMESTAMP_HEADER} must be Unix seconds, got ${JSON.stringify(timestamp.slice(0, 40))}`;
  if (Math.abs(nowSeconds - at) > SIGNATURE_TOLERANCE_SECONDS)
    return `${TIMESTAMP_HEADER} is more than ${SIGNATURE_TOLERANCE_SECONDS} s from the server's clock: sign the request again`;
  const expected = Buffer.from(signEvent(secret, at, body, idempotencyKey));
  const given = Buffer.from(signature);
  if (given.length !== expected.length || !timingSafeEqual(given, expected))
    return "the signature does not match the request: sign it with the trigger's secret";
  return undefined;
}

/** graphs/triggers.yaml: the triggers of workflows that have no definition file of their own, by workflow. */
export const TriggerManifestSchema = z.record(z.string(), z.array(TriggerSchema));

/** The manifest's triggers, each bound to its workflow; its input is the run's input as mapped. */
export function manifestTriggers(raw: unknown, declaredIn: string): WorkflowTrigger[] {
  const parsed = TriggerManifestSchema.safeParse(raw ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new InputError(`${declaredIn}: ${issue.path.join(".") || "triggers"}: ${issue.message}`);
  }
  return Object.entries(parsed.data).flatMap(([workflow, triggers]) =>
    triggers.map((trigger) => ({ ...trigger, workflow, declaredIn, runInput: (mapped: unknown) => mapped })),
  );
}
