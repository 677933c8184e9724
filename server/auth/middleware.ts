import { createHash, timingSafeEqual } from "node:crypto";
import type { Context, MiddlewareHandler } from "hono";
import { HttpError } from "../http.js";
import { authorize, assertVisible, type AuthFilters } from "./authorize.js";
import { authEnabled, type AuthConfig } from "./config.js";
import { AuthHandlerError, customCaller, loadCustomAuth } from "./custom.js";
import { isAdmin, requestAuth, SERVICE_USER, type AuthPolicy, type Caller } from "./identity.js";
import { tokenVerifier, type TokenVerifier } from "./tokens.js";

function sameSecret(given: string, expected: string): boolean {
  const a = createHash("sha256").update(given).digest();
  const b = createHash("sha256").update(expected).digest();
  return timingSafeEqual(a, b);
}

const bearerOf = (c: Context) => /^Bearer\s+(.+)$/i.exec(c.req.header("authorization") ?? "")?.[1]?.trim();

async function callerOf(
  c: Context,
  config: AuthConfig,
  policy: AuthPolicy,
  verify: TokenVerifier | undefined,
): Promise<Caller | undefined> {
  const bearer = bearerOf(c);
  const given = c.req.header("x-api-key") ?? bearer;
  if (config.apiKey !== undefined && given !== undefined && sameSecret(given, config.apiKey))
    return { user: SERVICE_USER, source: "api_key" };
  if (policy.custom) {
    const user = await customCaller(policy.custom, c.req.raw);
    return user ? { user, source: "custom" } : undefined;
  }
  if (verify) {
    if (bearer === undefined)
      throw new HttpError(401, "missing token: send it as Authorization: Bearer <token> (or the API key as x-api-key)");
    return { user: await verify(bearer), source: "token" };
  }
  if (config.apiKey !== undefined)
    throw new HttpError(401, "missing or wrong API key: send it as the x-api-key header or a Bearer token");
  return undefined;
}

/**
 * The authenticate step: the API key (the service identity), else the langgraph.json `Auth`
 * module's `authenticate`, else a verified bearer token. The caller is kept for the request's
 * whole handling (requestAuth), where authorize() and the run's config read it.
 */
export async function authentication(config: AuthConfig): Promise<MiddlewareHandler> {
  const custom = config.customAuthPath ? await loadCustomAuth(config.customAuthPath) : undefined;
  const policy: AuthPolicy = { adminRole: config.adminRole, ...(custom ? { custom } : {}) };
  const verify = await tokenVerifier(config);
  const enabled = authEnabled(config) || config.apiKey !== undefined;
  return async (c, next) => {
    if (!enabled || c.req.method === "OPTIONS") return next();
    let caller: Caller | undefined;
    try {
      caller = await callerOf(c, config, policy, verify);
    } catch (error) {
      if (error instanceof HttpError) return c.json({ error: "Unauthorized", message: error.message }, 401);
      if (error instanceof AuthHandlerError)
        return c.json(
          { error: error.status === 403 ? "Forbidden" : "Unauthorized", message: error.message },
          error.status as 401,
        );
      throw error;
    }
    if (caller === undefined) return next();
    return requestAuth.run({ caller, policy }, next);
  };
}

/** Which thread action a route under /threads/:thread_id is, as LangGraph's server names it; undefined: none of these. */
export function threadAction(method: string, rest: string): string | undefined {
  if (method === "DELETE" && rest === "") return "delete";
  if (method === "PATCH" && rest === "") return "update";
  if (method === "POST" && /^\/runs(\/stream|\/wait|\/crons)?$/.test(rest)) return "create_run";
  if (method === "POST" && (rest === "/state" || /^\/runs\/[^/]+\/cancel$/.test(rest))) return "update";
  if (method === "DELETE" && /^\/runs\/[^/]+$/.test(rest)) return "delete";
  if (method === "GET" || (method === "POST" && /^\/(history|copy|state\/checkpoint)$/.test(rest))) return "read";
  return undefined;
}

/** Which assistant action a route under /assistants/:assistant_id is; undefined: none of these. */
export function assistantAction(method: string, rest: string): string | undefined {
  if (method === "DELETE" && rest === "") return "delete";
  // Upstream checks setLatest as an update too.
  if ((method === "PATCH" && rest === "") || (method === "POST" && rest === "/latest")) return "update";
  if (method === "GET" || (method === "POST" && rest === "/versions")) return "read";
  return undefined;
}

const ROUTE_ACTIONS = { threads: threadAction, assistants: assistantAction } as const;

/**
 * Guards every route under /threads/:thread_id (or /assistants/:assistant_id): the caller's
 * filters for the action must pass the resource's metadata, else it is not found (404, so another
 * user's ids tell nothing). One that does not exist is left to the route (404, or created by `if_not_exists`).
 */
export function resourceGuard(
  resource: keyof typeof ROUTE_ACTIONS,
  metadataOf: (id: string) => Promise<Record<string, unknown> | undefined>,
): MiddlewareHandler {
  const param = resource === "threads" ? "thread_id" : "assistant_id";
  return async (c, next) => {
    const id = c.req.param(param) ?? "";
    const rest = c.req.path.slice(c.req.path.indexOf(id) + id.length);
    const action = ROUTE_ACTIONS[resource](c.req.method, rest);
    if (action === undefined) return next();
    const filters = await authorize(resource, action, { [param]: id });
    if (filters !== undefined) {
      const metadata = await metadataOf(id);
      if (metadata !== undefined) assertVisible(metadata, filters, `${resource.slice(0, -1)} ${id}`);
    }
    return next();
  };
}

/**
 * The caller as LangGraph's server passes it to a run's nodes; what a client sends under these keys
 * is dropped. The API key is a trusted service, not a user: its runs carry no user, so an approval
 * it relays is the reviewer's and role's it declares (recorded as declared), as from the CLI.
 */
export function withCallerConfigurable(configurable: Record<string, unknown>): Record<string, unknown> {
  const auth = requestAuth.getStore();
  const kept = Object.fromEntries(Object.entries(configurable).filter(([key]) => !key.startsWith("langgraph_auth_")));
  if (auth === undefined || auth.caller.source === "api_key") return kept;
  const { user } = auth.caller;
  return {
    ...kept,
    langgraph_auth_user: user,
    langgraph_auth_user_id: user.identity,
    langgraph_auth_permissions: user.permissions,
  };
}

/** The run's thread, authorised for `create_run`: the metadata a thread the run creates gets (its owner), and filters for an existing one. */
export interface RunThreadAccess {
  threadMetadata: Record<string, unknown>;
  filters?: AuthFilters;
}

export async function runThreadAccess(
  threadId: string | undefined,
  assistantId: string,
  metadata: Record<string, unknown>,
): Promise<RunThreadAccess> {
  const value = { thread_id: threadId, assistant_id: assistantId, metadata: { ...metadata } };
  const filters = await authorize("threads", "create_run", value);
  // Without a caller of its own (auth off, or the API key), a run's thread keeps the metadata it always had.
  const source = requestAuth.getStore()?.caller.source;
  if (source === undefined || source === "api_key") return { threadMetadata: {} };
  return { threadMetadata: value.metadata, ...(filters ? { filters } : {}) };
}

/** Guards a route that changes what every user runs (applying the optimizer): once callers are told apart, the API key or the admin role only. */
export const adminOnly: MiddlewareHandler = async (_c, next) => {
  const auth = requestAuth.getStore();
  if (auth !== undefined && !isAdmin(auth))
    throw new AuthHandlerError(
      403,
      `${auth.caller.user.identity} may not do this: it needs the ${auth.policy.adminRole} role or the API key`,
    );
  return next();
};
