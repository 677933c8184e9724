import http from "node:http";
import https from "node:https";
import { isIP } from "node:net";
import { RequestFilteringHttpAgent, RequestFilteringHttpsAgent } from "request-filtering-agent";
import { z } from "zod";

/** Webhook settings, from the environment. */
export const WebhookSettingsSchema = z.object({
  /**
   * Hosts (names or IP addresses, or CIDR ranges) a webhook may reach although they are private,
   * loopback or link-local. Comma-separated; empty by default.
   */
  ORCHESTRA_WEBHOOK_ALLOW_HOSTS: z
    .string()
    .default("")
    .transform((text) =>
      text
        .split(",")
        .map((host) => host.trim().toLowerCase())
        .filter(Boolean),
    ),
});
export type WebhookSettings = z.infer<typeof WebhookSettingsSchema>;
export const webhookSettings = (env: NodeJS.ProcessEnv = process.env): WebhookSettings =>
  WebhookSettingsSchema.parse(env);

export const IDEMPOTENCY_HEADER = "Idempotency-Key";

/** The breaker's and the audit trail's name for an endpoint: scheme, host and path, no query (it may carry a token). */
export function endpointName(url: URL): string {
  return `${url.origin}${url.pathname}`;
}

/** The hosts given in the allow-list: names open private addresses for that host; IPs and CIDRs open those addresses. */
function agentFor(url: URL, allowHosts: readonly string[]) {
  const host = url.hostname.replace(/^\[|\]$/g, "").toLowerCase();
  const isAddress = (entry: string) => isIP(entry.split("/")[0]!) !== 0;
  const options = {
    allowPrivateIPAddress: !isAddress(host) && allowHosts.includes(host),
    allowIPAddressList: allowHosts.filter(isAddress),
  };
  return url.protocol === "https:" ? new RequestFilteringHttpsAgent(options) : new RequestFilteringHttpAgent(options);
}

export class SsrfRefusedError extends Error {
  override name = "SsrfRefusedError";
}

export interface WebhookRequest {
  url: URL;
  method: string;
  /** Resolved: never store or log these. */
  headers: Record<string, string>;
  body: unknown;
  idempotencyKey: string;
  signal: AbortSignal;
  allowHosts: readonly string[];
}

export interface WebhookResponse {
  status: number;
  body: unknown;
}

const MAX_BODY_CHARS = 4000;

/**
 * One HTTP request through the SSRF guard: the agent checks the address each connection resolves
 * to, so a public name pointing at a private address is refused as well. Non-2xx is a failure.
 */
export function sendWebhook(request: WebhookRequest): Promise<WebhookResponse> {
  const { url } = request;
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    return Promise.reject(new Error(`webhook endpoint ${endpointName(url)} is not http or https`));
  }
  const payload = JSON.stringify(request.body ?? null);
  const client = url.protocol === "https:" ? https : http;
  return new Promise<WebhookResponse>((resolve, reject) => {
    const outgoing = client.request(
      url,
      {
        method: request.method,
        agent: agentFor(url, request.allowHosts),
        signal: request.signal,
        headers: {
          ...request.headers,
          "content-type": "application/json",
          "content-length": Buffer.byteLength(payload),
          [IDEMPOTENCY_HEADER]: request.idempotencyKey,
        },
      },
      (response) => {
        let text = "";
        response.setEncoding("utf8");
        response.on("data", (chunk: string) => {
          if (text.length < MAX_BODY_CHARS) text += chunk;
        });
        response.on("error", reject);
        response.on("end", () => {
          const status = response.statusCode ?? 0;
          let body: unknown = text.slice(0, MAX_BODY_CHARS);
          try {
            body = JSON.parse(text);
          } catch {
            // Not JSON: kept as text.
          }
          if (status >= 200 && status < 300) resolve({ status, body });
          else reject(new Error(`${request.method} ${endpointName(url)} answered ${status}`));
        });
      },
    );
    outgoing.on("error", (error: Error) => {
      if (/is not allowed\. Because/.test(error.message)) {
        const address = /DNS lookup (\S+?)\(/.exec(error.message)?.[1] ?? url.hostname;
        reject(
          new SsrfRefusedError(
            `webhook to ${url.hostname} refused: ${address} is a private, loopback or link-local address; add ${url.hostname} to ORCHESTRA_WEBHOOK_ALLOW_HOSTS to allow it`,
          ),
        );
        return;
      }
      reject(
        request.signal.aborted
          ? new Error(`${request.method} ${endpointName(url)} was aborted`)
          : new Error(`${request.method} ${endpointName(url)}: ${error.message}`),
      );
    });
    outgoing.end(payload);
  });
}
