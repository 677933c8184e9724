import { createHmac } from "node:crypto";
import { z } from "zod";
import { Deadline } from "../../models/deadline.js";
import type { AdvancedWorkflow } from "../../state/enterprise_workflow/definition.js";
import type { StepRecord } from "../../state/enterprise_workflow/state.js";
import type { EngineServices } from "./services.js";
import { InputError } from "../../state/shared/errors.js";
import { logAt } from "../../checkpoints/log.js";
import { endpointName, sendWebhook, webhookSettings } from "./webhook.js";

/** Alert channels, from the environment: the log always, and a signed webhook when an endpoint is set. */
export const AlertSettingsSchema = z.object({
  /** Where alerts are POSTed, through the webhooks' SSRF guard (ORCHESTRA_WEBHOOK_ALLOW_HOSTS applies). */
  ORCHESTRA_ALERT_WEBHOOK: z.url().optional(),
  /** The HMAC-SHA256 key of the `X-Orchestra-Signature` header. */
  ORCHESTRA_ALERT_SECRET: z.string().min(16, "ORCHESTRA_ALERT_SECRET must be at least 16 characters").optional(),
});
export type AlertSettings = z.infer<typeof AlertSettingsSchema>;

/** The settings, or one line naming the variable to fix. */
export function alertSettings(env: NodeJS.ProcessEnv): AlertSettings {
  const parsed = AlertSettingsSchema.safeParse(env);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  throw new InputError(`${issue.path.join(".")}: ${issue.message}; fix or unset it`);
}

/** What an alert reached: the log always, the webhook by `origin + path`. */
export interface AlertDelivery {
  channel: string;
  ok: boolean;
  error?: string;
}

export const SIGNATURE_HEADER = "X-Orchestra-Signature";

/** `sha256=<hex>` of the exact body sent: the receiver recomputes it with the shared secret. */
export function alertSignature(body: string, secret: string): string {
  return `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
}

/** One SLA target checked at the end of a run. */
export interface SlaCheck {
  /** `<workflow>/<step or (workflow)>/maxDuration`: one alert per key. */
  key: string;
  stepId?: string;
  breached: boolean;
  detail: string;
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(3).replace(/\.?0+$/, "")} s`;

/** The run's and its steps' durations against their maximums; a step that did not finish is not checked. */
export function slaChecks(
  workflow: AdvancedWorkflow,
  records: Record<string, StepRecord>,
  startTime: string | undefined,
  now: number,
): SlaCheck[] {
  const check = (stepId: string | undefined, tookMs: number, maxSeconds: number): SlaCheck => ({
    key: `${workflow.name}/${stepId ?? "(workflow)"}/maxDuration`,
    ...(stepId ? { stepId } : {}),
    breached: tookMs > maxSeconds * 1000,
    detail: `took ${seconds(tookMs)}, maximum ${seconds(maxSeconds * 1000)}`,
  });
  const { maxDurationSeconds, steps } = workflow.slaTargets;
  const checks = Object.entries(steps).flatMap(([stepId, target]) => {
    const tookMs = records[stepId]?.durationMs;
    return target.maxDurationSeconds === undefined || tookMs === undefined
      ? []
      : [check(stepId, tookMs, target.maxDurationSeconds)];
  });
  if (maxDurationSeconds !== undefined && startTime)
    checks.unshift(check(undefined, now - Date.parse(startTime), maxDurationSeconds));
  return checks;
}

export interface Alert {
  status: "firing" | "resolved";
  key: string;
  workflow: string;
  stepId?: string;
  threadId?: string;
  detail: string;
  at: string;
}

/** To the log (stderr) and, when configured, to the signed webhook; a delivery failure is logged, never the run's. */
export async function deliverAlert(alert: Alert, env: NodeJS.ProcessEnv): Promise<AlertDelivery[]> {
  logAt("warn")?.warn(
    { alert },
    `alert ${alert.status}: ${alert.key}: ${alert.detail}${alert.threadId ? ` (thread ${alert.threadId})` : ""}`,
  );
  const deliveries: AlertDelivery[] = [{ channel: "log", ok: true }];
  let settings: AlertSettings;
  try {
    settings = alertSettings(env);
  } catch (error) {
    logAt("error")?.error(
      { alert: alert.key, err: (error as Error).message },
      `alert ${alert.status} for ${alert.key} not sent to the webhook`,
    );
    return [...deliveries, { channel: "webhook", ok: false, error: (error as Error).message }];
  }
  const { ORCHESTRA_ALERT_WEBHOOK: endpoint, ORCHESTRA_ALERT_SECRET: secret } = settings;
  if (!endpoint) return deliveries;
  const channel = `webhook ${endpointName(new URL(endpoint))}`;
  const body = JSON.stringify(alert);
  const deadline = new Deadline(10_000, undefined);
  try {
    await sendWebhook({
      url: new URL(endpoint),
      method: "POST",
      headers: secret ? { [SIGNATURE_HEADER]: alertSignature(body, secret) } : {},
      body: alert,
      idempotencyKey: `${alert.key}:${alert.status}:${alert.at}`,
      signal: deadline.signal,
      allowHosts: webhookSettings(env).ORCHESTRA_WEBHOOK_ALLOW_HOSTS,
    });
    return [...deliveries, { channel, ok: true }];
  } catch (error) {
    logAt("error")?.error(
      { alert: alert.key, err: (error as Error).message },
      `alert ${alert.status} for ${alert.key} not delivered: ${(error as Error).message}`,
    );
    return [...deliveries, { channel, ok: false, error: (error as Error).message }];
  } finally {
    deadline.clear();
  }
}

/**
 * Each check moves its alert: a breach fires it unless it is firing already (once per breach
 * window), a check back in bounds resolves a firing one. The store decides, so many processes alert once.
 */
export async function raiseSlaAlerts(
  services: EngineServices,
  workflow: AdvancedWorkflow,
  checks: readonly SlaCheck[],
  threadId: string | undefined,
  now: number,
): Promise<void> {
  const controls = await services.controls();
  for (const check of checks) {
    if (!(await controls.setAlertFiring(check.key, check.breached))) continue;
    const alert: Alert = {
      status: check.breached ? "firing" : "resolved",
      key: check.key,
      workflow: workflow.name,
      ...(check.stepId ? { stepId: check.stepId } : {}),
      ...(threadId ? { threadId } : {}),
      detail: check.detail,
      at: new Date(now).toISOString(),
    };
    await deliverAlert(alert, services.env);
  }
}
