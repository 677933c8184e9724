import { pathToFileURL } from "node:url";
import type { Auth } from "@langchain/langgraph-sdk/auth";
import { InputError } from "../../state/shared/errors.js";
import { HttpError } from "../http.js";
import type { AuthUser } from "./identity.js";

/** An error a handler threw with a status (the SDK's HTTPException, or any `{status}`), kept as the answer's status. */
export class AuthHandlerError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function statusOf(error: unknown): number | undefined {
  if (typeof error !== "object" || error === null || !("status" in error)) return undefined;
  return typeof error.status === "number" && error.status >= 400 && error.status < 600 ? error.status : undefined;
}

/** A handler's error as the server answers it: its own status and message, else 500 as on LangGraph's server. */
export function handlerError(error: unknown, fallback: string): Error {
  if (error instanceof HttpError || error instanceof AuthHandlerError) return error;
  const status = statusOf(error);
  const message = error instanceof Error && error.message ? error.message : fallback;
  return new AuthHandlerError(status ?? 500, message);
}

/**
 * The `Auth` object a langgraph.json `auth.path` names (`./auth.ts:auth`; without an export
 * name, the default export). A TypeScript module is loaded through tsx, as the CLI loads its own
 * sources, so the same file serves `langgraph dev` and `orchestra serve`.
 */
export async function loadCustomAuth(authPath: string): Promise<Auth> {
  const separator = authPath.lastIndexOf(":");
  const hasExport = separator > 1 && !authPath.slice(separator).includes("/");
  const file = hasExport ? authPath.slice(0, separator) : authPath;
  const exported = hasExport ? authPath.slice(separator + 1) : "default";
  const url = pathToFileURL(file).href;
  let module: Record<string, unknown>;
  try {
    module = /\.[cm]?tsx?$/.test(file)
      ? await (await import("tsx/esm/api")).tsImport(url, import.meta.url)
      : await import(url);
  } catch (error) {
    throw new InputError(
      `langgraph.json auth.path ${authPath} cannot be loaded: ${error instanceof Error ? error.message.split("\n")[0] : String(error)}`,
    );
  }
  const found = module[exported];
  // Checked by shape, as LangGraph's server checks it: the module may hold its own copy of the SDK.
  if (typeof found === "object" && found !== null && "~handlerCache" in found) return found as Auth;
  throw new InputError(
    `${authPath}: export "${exported}" is not an Auth from @langchain/langgraph-sdk/auth; export one, e.g. export const auth = new Auth()`,
  );
}

/** The user an `authenticate` callback returned, normalised as LangGraph's server does: a string is an identity. */
export function normalisedUser(returned: unknown): AuthUser {
  if (typeof returned === "string" && returned !== "") {
    return { identity: returned, display_name: returned, permissions: [], is_authenticated: true };
  }
  if (
    typeof returned === "object" &&
    returned !== null &&
    "identity" in returned &&
    typeof returned.identity === "string"
  ) {
    const fields = returned as Record<string, unknown>;
    const permissions = Array.isArray(fields.permissions)
      ? fields.permissions.filter((p): p is string => typeof p === "string")
      : [];
    return {
      ...fields,
      identity: returned.identity,
      permissions,
      is_authenticated: typeof fields.is_authenticated === "boolean" ? fields.is_authenticated : true,
      display_name: typeof fields.display_name === "string" ? fields.display_name : returned.identity,
    };
  }
  throw new AuthHandlerError(
    500,
    "the auth module's authenticate returned neither a string nor an object with an identity",
  );
}

/** Runs the module's `authenticate` on the request; a module without one lets every request through as nobody in particular. */
export async function customCaller(auth: Auth, request: Request): Promise<AuthUser | undefined> {
  const authenticate = auth["~handlerCache"].authenticate;
  if (!authenticate) return undefined;
  try {
    return normalisedUser(await authenticate(request));
  } catch (error) {
    throw handlerError(error, "Unauthorized");
  }
}
