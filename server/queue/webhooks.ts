import { createHmac } from "node:crypto";
import type pg from "pg";
import { z } from "zod";
import { envValue } from "../../db/env.js";
import { InputError } from "../../state/shared/errors.js";
import {
  SsrfRefusedError,
  WebhookSettingsSchema,
  endpointName,
  sendWebhook,
} from "../../nodes/shared/webhook_transport.js";
import type { RunBus } from "./bus.js";
import { errorBody } from "../serialise.js";

/** How run-completion webhooks are signed, retried and leased, declared once; from the environment. */
export const WebhookDeliverySchema = WebhookSettingsSchema.extend({
  /** Signs every delivery (HMAC-SHA256); without it deliveries go unsigned. Never logged. */
  ORCHESTRA_WEBHOOK_SECRET: z
    .string()
    .min(16, "ORCHESTRA_WEBHOOK_SECRET must be at least 16 characters; generate one with: openssl rand -hex 32")
    .optional(),
  ORCHESTRA_WEBHOOK_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(100).default(6),
  /** The first retry's delay ceiling; each later one doubles it, up to ORCHESTRA_WEBHOOK_BACKOFF_MAX_MS. */
  ORCHESTRA_WEBHOOK_BACKOFF_MS: z.coerce.number().int().min(1).default(1_000),
  ORCHESTRA_WEBHOOK_BACKOFF_MAX_MS: z.coerce.number().int().min(1).default(300_000),
  /** How long a claimed delivery is this instance's; a request gets half of it before it counts as failed. */
  ORCHESTRA_WEBHOOK_LEASE_MS: z.coerce.number().int().min(1_000).default(30_000),
});
export type WebhookDeliverySettings = z.infer<typeof WebhookDeliverySchema>;

export function webhookDeliverySettings(): WebhookDeliverySettings {
  const names = Object.keys(WebhookDeliverySchema.shape) as (keyof WebhookDeliverySettings)[];
  const parsed = WebhookDeliverySchema.safeParse(Object.fromEntries(names.map((name) => [name, envValue(name)])));
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new InputError(`webhook configuration: ${issue.path.join(".")}: ${issue.message}`);
  }
  return parsed.data;
}

export const TIMESTAMP_HEADER = "X-Orchestra-Timestamp";
export const SIGNATURE_HEADER = "X-Orchestra-Signature";

/** `sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">`: the timestamp is signed too, so a receiver can refuse replays. */
export function webhookSignature(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac("sha256", secret).update(`${timestamp}.${body}`).digest("hex")}`;
}

/** Exponential backoff with full jitter: a delay drawn uniformly below min(cap, base·2^(attempt−1)). */
export function retryDelayMs(
  attempt: number,
  baseMs: number,
  capMs: number,
  random: () => number = Math.random,
): number {
  return Math.floor(random() * Math.min(capMs, baseMs * 2 ** (attempt - 1)));
}

/** After a failed attempt: try again after `delayMs`, or give up. */
export type RetryDecision = { retry: true; delayMs: number } | { retry: false };

export function afterFailure(
  attempt: number,
  refused: boolean,
  settings: WebhookDeliverySettings,
  random?: () => number,
): RetryDecision {
  // A refused target stays refused: the allow-list is read at start.
  if (refused || attempt >= settings.ORCHESTRA_WEBHOOK_MAX_ATTEMPTS) return { retry: false };
  return {
    retry: true,
    delayMs: retryDelayMs(
      attempt,
      settings.ORCHESTRA_WEBHOOK_BACKOFF_MS,
      settings.ORCHESTRA_WEBHOOK_BACKOFF_MAX_MS,
      random,
    ),
  };
}

interface OutboxRow {
  run_id: string;
  url: string;
  payload: Record<string, unknown>;
  idempotency_key: string;
  attempts: number;
}

interface AttemptRecord {
  status: "pending" | "delivered" | "refused" | "failed";
  error: string | null;
  delayMs: number;
  /** The line the run's record gets. */
  line: string;
}

const IDLE_POLL_MS = 1_000;
const CLAIM_BATCH = 16;

export interface DelivererContext {
  pool: pg.Pool;
  schema: string;
  bus: RunBus;
  settings: WebhookDeliverySettings;
  /** This instance, as lease owner. */
  owner: string;
  log(message: string): void;
}

/**
 * Delivers the run_webhooks outbox, in every instance. A delivery is claimed with FOR UPDATE SKIP
 * LOCKED under a lease (its attempt counted at the claim); what came of it is recorded only while
 * the claim is still this one. An instance that dies mid-request leaves its lease to expire, and
 * another instance takes the same row on: one chain of attempts per run, one idempotency key.
 */
export class WebhookDeliverer {
  private stopping = false;
  private wake: (() => void) | undefined;
  private loop: Promise<void> = Promise.resolve();
  private readonly inFlight = new AbortController();
  private unsubscribe: (() => void) | undefined;

  constructor(private readonly context: DelivererContext) {}

  start(): void {
    // A run that ended may have a webhook to send.
    this.unsubscribe = this.context.bus.onAny("done", () => this.wake?.());
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.inFlight.abort();
    this.wake?.();
    this.unsubscribe?.();
    await this.loop;
  }

  private idle(): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.wake?.(), IDLE_POLL_MS * (0.5 + Math.random()));
      this.wake = () => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
      if (this.stopping) this.wake();
    });
  }

  private async run(): Promise<void> {
    while (!this.stopping) {
      try {
        const claimed = await this.claim();
        await Promise.all(claimed.map((row) => this.deliver(row)));
        if (claimed.length === CLAIM_BATCH) continue;
      } catch (error) {
        this.context.log(`webhooks: ${errorBody(error).message}`);
      }
      await this.idle();
    }
  }

  private claim(): Promise<OutboxRow[]> {
    const { pool, schema, owner, settings } = this.context;
    return pool
      .query<OutboxRow>(
        `WITH due AS (
           SELECT run_id FROM "${schema}".run_webhooks
           WHERE status = 'pending' AND next_attempt_at <= clock_timestamp() AND (lease_expires_at IS NULL OR lease_expires_at <= clock_timestamp())
           ORDER BY next_attempt_at LIMIT $3 FOR UPDATE SKIP LOCKED)
         UPDATE "${schema}".run_webhooks w SET attempts = w.attempts + 1, lease_owner = $1,
           lease_expires_at = clock_timestamp() + $2 * interval '1 millisecond'
         FROM due WHERE w.run_id = due.run_id
         RETURNING w.run_id, w.url, w.payload, w.idempotency_key, w.attempts`,
        [owner, settings.ORCHESTRA_WEBHOOK_LEASE_MS, CLAIM_BATCH],
      )
      .then((result) => result.rows);
  }

  private async deliver(row: OutboxRow): Promise<void> {
    const { settings } = this.context;
    const url = new URL(row.url);
    const max = settings.ORCHESTRA_WEBHOOK_MAX_ATTEMPTS;
    // The instance that made the last allowed attempt died during it.
    if (row.attempts > max)
      return this.record(row, {
        status: "failed",
        error: null,
        delayMs: 0,
        line: `webhook to ${endpointName(url)} given up after ${max} attempts`,
      });
    const body = { ...row.payload, webhook_sent_at: new Date().toISOString() };
    const timestamp = String(Math.floor(Date.now() / 1000));
    const secret = settings.ORCHESTRA_WEBHOOK_SECRET;
    try {
      const response = await sendWebhook({
        url,
        method: "POST",
        headers: secret
          ? {
              [TIMESTAMP_HEADER]: timestamp,
              [SIGNATURE_HEADER]: webhookSignature(secret, timestamp, JSON.stringify(body)),
            }
          : {},
        body,
        idempotencyKey: row.idempotency_key,
        signal: AbortSignal.any([this.inFlight.signal, AbortSignal.timeout(settings.ORCHESTRA_WEBHOOK_LEASE_MS / 2)]),
        allowHosts: settings.ORCHESTRA_WEBHOOK_ALLOW_HOSTS,
      });
      await this.record(row, {
        status: "delivered",
        error: null,
        delayMs: 0,
        line: `webhook delivered to ${endpointName(url)} on attempt ${row.attempts} (${response.status})`,
      });
    } catch (error) {
      const refused = error instanceof SsrfRefusedError;
      const message = errorBody(error).message;
      const decision = afterFailure(row.attempts, refused, settings);
      const line = refused
        ? message
        : decision.retry
          ? `webhook attempt ${row.attempts} of ${max} failed: ${message}; retrying`
          : `webhook to ${endpointName(url)} given up after ${row.attempts} attempts: ${message}`;
      await this.record(row, {
        status: decision.retry ? "pending" : refused ? "refused" : "failed",
        error: message,
        delayMs: decision.retry ? decision.delayMs : 0,
        line,
      });
    }
  }

  /** Records an attempt's outcome, on the outbox row and as the run's line; only while the claim is still this one. */
  private async record(row: OutboxRow, outcome: AttemptRecord): Promise<void> {
    const { pool, schema, owner } = this.context;
    await pool.query(
      `WITH attempt AS (
         UPDATE "${schema}".run_webhooks SET status = $3, last_error = $4, lease_owner = NULL, lease_expires_at = NULL,
           next_attempt_at = clock_timestamp() + $5 * interval '1 millisecond',
           delivered_at = CASE WHEN $3 = 'delivered' THEN clock_timestamp() END
         WHERE run_id = $1 AND lease_owner = $2 AND attempts = $6 RETURNING run_id)
       UPDATE "${schema}".runs SET webhook_status = $7 WHERE run_id IN (SELECT run_id FROM attempt)`,
      [row.run_id, owner, outcome.status, outcome.error, outcome.delayMs, row.attempts, outcome.line],
    );
  }
}
