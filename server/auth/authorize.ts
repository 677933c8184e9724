import { HttpError } from "../http.js";
import { AuthHandlerError, handlerError } from "./custom.js";
import { isAdmin, requestAuth, type Caller, type AuthPolicy } from "./identity.js";

/** What a handler returns to narrow what the caller sees: metadata keys and the values they must hold. */
export type AuthFilters = Record<string, unknown>;

export type AuthResource = "threads" | "assistants" | "crons" | "store";

/** The metadata key that names a thread's (or cron's) creator under the default ownership rules, as LangGraph's examples name it. */
export const OWNER_KEY = "owner";

const OWNED: ReadonlySet<AuthResource> = new Set(["threads", "crons"]);
const CREATING = new Set(["create", "create_run"]);

/**
 * Whether metadata passes the filters, with LangGraph's semantics: a plain value or `$eq` must be
 * equal, `$contains` must be in the (array) value; no filters pass everything.
 */
export function matchesFilters(
  metadata: Record<string, unknown> | null | undefined,
  filters: AuthFilters | undefined,
): boolean {
  if (filters === undefined) return true;
  return Object.entries(filters).every(([key, wanted]) => {
    const held = metadata?.[key];
    if (typeof wanted !== "object" || wanted === null) return held === wanted;
    if ("$eq" in wanted) return held === wanted.$eq;
    if ("$contains" in wanted) {
      if (!Array.isArray(held)) return false;
      const needed: unknown[] = Array.isArray(wanted.$contains) ? wanted.$contains : [wanted.$contains];
      return needed.every((value) => held.includes(value));
    }
    return true;
  });
}

/** Filters as one jsonb containment document, for SQL `metadata @> $n`; `$contains` becomes array containment. */
export function filtersAsContainment(filters: AuthFilters | undefined): Record<string, unknown> {
  const document: Record<string, unknown> = {};
  for (const [key, wanted] of Object.entries(filters ?? {})) {
    if (typeof wanted !== "object" || wanted === null) document[key] = wanted;
    else if ("$eq" in wanted) document[key] = wanted.$eq;
    else if ("$contains" in wanted) document[key] = [wanted.$contains].flat();
  }
  return document;
}

/**
 * A search's metadata filter narrowed by the caller's filters, for SQL `metadata @> $n`. Where both
 * name a key, the caller's filter wins: the search may then return less than asked, never another's rows.
 */
export const narrowedMetadata = (requested: Record<string, unknown> | undefined, filters: AuthFilters | undefined) => ({
  ...requested,
  ...filtersAsContainment(filters),
});

/** The `Auth` module's handler for an event, most specific first, as LangGraph's server picks it. */
async function customFilters(
  policy: Required<Pick<AuthPolicy, "custom">>,
  caller: Caller,
  resource: AuthResource,
  action: string,
  value: object,
) {
  const callbacks = policy.custom["~handlerCache"].callbacks ?? {};
  const key = [`${resource}:${action}`, resource, `*:${action}`, "*"].find((candidate) => callbacks[candidate]);
  if (key === undefined) return undefined;
  let result: unknown;
  try {
    result = await callbacks[key]!({
      event: `${resource}:${action}`,
      resource,
      action,
      value,
      permissions: caller.user.permissions,
      user: caller.user,
    } as never);
  } catch (error) {
    throw handlerError(error, "Forbidden");
  }
  if (result === undefined || result === null || result === true) return undefined;
  if (result === false) throw new AuthHandlerError(403, `${caller.user.identity} may not ${action} ${resource}`);
  if (typeof result !== "object")
    throw new AuthHandlerError(
      500,
      `the auth handler for ${resource}:${action} returned a ${typeof result}; return filters, a boolean or nothing`,
    );
  return result as AuthFilters;
}

/**
 * The default rules with token auth and no `Auth` module: a thread or cron belongs to whoever
 * created it (its metadata's owner), and only its owner or the admin role sees it.
 */
function ownershipFilters(
  policy: AuthPolicy,
  caller: Caller,
  resource: AuthResource,
  action: string,
  value: object,
): AuthFilters | undefined {
  if (!OWNED.has(resource) || isAdmin({ caller, policy })) return undefined;
  if (CREATING.has(action) && "metadata" in value && typeof value.metadata === "object" && value.metadata !== null) {
    (value.metadata as Record<string, unknown>)[OWNER_KEY] = caller.user.identity;
  }
  return { [OWNER_KEY]: caller.user.identity };
}

/**
 * Authorises the request's caller to do `action` on `resource`, with LangGraph's semantics: the
 * handler may change `value` in place (a new thread's metadata, a store namespace), refuse (403),
 * or return filters the resource's metadata must pass. Undefined: no narrowing (auth off, the API
 * key's service identity, an admin, or no handler for the event).
 */
export async function authorize(
  resource: AuthResource,
  action: string,
  value: object,
): Promise<AuthFilters | undefined> {
  const auth = requestAuth.getStore();
  if (auth === undefined || auth.caller.source === "api_key") return undefined;
  const { policy, caller } = auth;
  if (policy.custom) return customFilters({ custom: policy.custom }, caller, resource, action, value);
  return ownershipFilters(policy, caller, resource, action, value);
}

/** Refuses a resource the filters hide as absent, so its id tells nothing: 404, not 403. */
export function assertVisible(
  metadata: Record<string, unknown> | null | undefined,
  filters: AuthFilters | undefined,
  what: string,
): void {
  if (!matchesFilters(metadata, filters)) throw new HttpError(404, `${what} not found`);
}
