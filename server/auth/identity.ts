import { AsyncLocalStorage } from "node:async_hooks";
import type { Auth } from "@langchain/langgraph-sdk/auth";

/**
 * The user as LangGraph's server hands it to auth handlers and to nodes
 * (`config.configurable.langgraph_auth_user`): an identity, a display name and permissions. A
 * verified token's user also carries its issuer and roles (its permissions are its roles).
 */
export interface AuthUser {
  identity: string;
  display_name: string;
  permissions: string[];
  is_authenticated: boolean;
  issuer?: string;
  roles?: string[];
  [key: string]: unknown;
}

/** How the caller was told: a verified token, the custom `Auth` module, or the API key (the service identity, which sees all). */
export type CallerSource = "token" | "custom" | "api_key";

export interface Caller {
  user: AuthUser;
  source: CallerSource;
}

/** What authorisation decides from, besides the caller. */
export interface AuthPolicy {
  /** Holders of this role see every thread under the default ownership rules. */
  adminRole: string;
  /** The langgraph.json `auth.path` module, when there is one: its handlers replace the default ownership rules. */
  custom?: Auth;
}

interface RequestAuth {
  caller: Caller;
  policy: AuthPolicy;
}

/**
 * The request's caller, set by the authenticate middleware for everything the request runs, so
 * run preparation and storage need no extra parameter to know who asks.
 */
export const requestAuth = new AsyncLocalStorage<RequestAuth>();

/** The API key, or a user holding the admin role (a token's roles, else an Auth module user's permissions). */
export const isAdmin = ({ caller, policy }: RequestAuth) =>
  caller.source === "api_key" || (caller.user.roles ?? caller.user.permissions).includes(policy.adminRole);

export const SERVICE_USER: AuthUser = {
  identity: "orchestra-api-key",
  display_name: "API key",
  permissions: [],
  is_authenticated: true,
};
