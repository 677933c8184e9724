import { ENV_REFERENCE } from "../../state/enterprise_workflow/definition.js";

// The guarded HTTP transport is shared with the server's run-completion webhooks.
export {
  IDEMPOTENCY_HEADER,
  SsrfRefusedError,
  endpointName,
  sendWebhook,
  webhookSettings,
} from "../shared/webhook_transport.js";

/** Replaces `${env:NAME}` with the variable's value; throws naming the variable (never a value) when unset. */
export function resolveEnvReferences(text: string, what: string, env: NodeJS.ProcessEnv = process.env): string {
  return text.replace(ENV_REFERENCE, (_, name: string) => {
    const value = env[name];
    if (value === undefined || value === "")
      throw new Error(`${what} refers to \${env:${name}}, which is unset; export ${name}`);
    return value;
  });
}
