import { readFile } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { envValue } from "../../db/env.js";
import { InputError } from "../../state/shared/errors.js";

/**
 * How callers are told apart, declared once. Auth is on when a token key (a JWKS URL or a public
 * key) is configured or langgraph.json names a custom `auth.path`; the API key alone keeps the
 * single shared identity it always was.
 */
export const AuthConfigSchema = z
  .object({
    jwksUrl: z
      .url({
        message: "ORCHESTRA_AUTH_JWKS_URL must be an http(s) URL, e.g. https://idp.example.com/.well-known/jwks.json",
      })
      .optional(),
    publicKey: z
      .string()
      .includes("BEGIN PUBLIC KEY", {
        message: "ORCHESTRA_AUTH_PUBLIC_KEY must be a PEM public key (-----BEGIN PUBLIC KEY-----)",
      })
      .optional(),
    issuer: z.string().min(1).optional(),
    audience: z.string().min(1).optional(),
    /** The claim naming the user; `sub` by default. */
    userClaim: z.string().min(1).default("sub"),
    /** The claim listing the user's roles (an array, or a space-separated string as `scope` is). */
    rolesClaim: z.string().min(1).default("roles"),
    /** Holders of this role see every thread, as the API key does. */
    adminRole: z.string().min(1).default("admin"),
    /** How long a key id missing from the cached JWKS waits before the JWKS is fetched again. */
    jwksCooldownSeconds: z.coerce.number().nonnegative().default(30),
    /** How long the fetched JWKS is trusted before it is fetched again, so removed keys stop working. */
    jwksMaxAgeSeconds: z.coerce.number().positive().default(600),
    apiKey: z.string().min(1).optional(),
    /** langgraph.json's `auth.path`, resolved against the file's folder: a module exporting an `Auth`. */
    customAuthPath: z.string().min(1).optional(),
  })
  .refine((config) => !(config.jwksUrl && config.publicKey), {
    message: "set ORCHESTRA_AUTH_JWKS_URL or ORCHESTRA_AUTH_PUBLIC_KEY, not both",
  })
  .refine((config) => !(config.jwksUrl || config.publicKey) || (config.issuer && config.audience), {
    message:
      "token auth needs ORCHESTRA_AUTH_ISSUER and ORCHESTRA_AUTH_AUDIENCE: a token is accepted only from its issuer, for this server",
  });
export type AuthConfig = z.infer<typeof AuthConfigSchema>;

export const tokensConfigured = (config: AuthConfig) => config.jwksUrl !== undefined || config.publicKey !== undefined;
export const authEnabled = (config: AuthConfig) => tokensConfigured(config) || config.customAuthPath !== undefined;

const LangGraphJsonAuth = z.object({ auth: z.object({ path: z.string().min(1).optional() }).optional() }).loose();

/** langgraph.json's `auth.path`, as `file:export` with the file made absolute, or undefined. */
export async function customAuthPath(configFile: string): Promise<string | undefined> {
  let text: string;
  try {
    text = await readFile(configFile, "utf8");
  } catch {
    return undefined;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new InputError(
      `${configFile} is not valid JSON; fix it, or point ORCHESTRA_LANGGRAPH_CONFIG at another file`,
    );
  }
  const parsed = LangGraphJsonAuth.safeParse(json);
  if (!parsed.success)
    throw new InputError(
      `${configFile}: "auth" must be an object with a "path" string, e.g. {"path": "./auth.ts:auth"}`,
    );
  const named = parsed.data.auth?.path;
  if (named === undefined) return undefined;
  const [file, exported] = named.split(":", 2);
  return `${path.resolve(path.dirname(configFile), file!)}${exported ? `:${exported}` : ""}`;
}

/** The configuration from the environment and langgraph.json (ORCHESTRA_LANGGRAPH_CONFIG, else the working folder's). */
export async function authConfigFromEnv(): Promise<AuthConfig> {
  const configFile = path.resolve(envValue("ORCHESTRA_LANGGRAPH_CONFIG") ?? "langgraph.json");
  const parsed = AuthConfigSchema.safeParse({
    jwksUrl: envValue("ORCHESTRA_AUTH_JWKS_URL"),
    publicKey: envValue("ORCHESTRA_AUTH_PUBLIC_KEY")?.replace(/\\n/g, "\n"),
    issuer: envValue("ORCHESTRA_AUTH_ISSUER"),
    audience: envValue("ORCHESTRA_AUTH_AUDIENCE"),
    userClaim: envValue("ORCHESTRA_AUTH_USER_CLAIM"),
    rolesClaim: envValue("ORCHESTRA_AUTH_ROLES_CLAIM"),
    adminRole: envValue("ORCHESTRA_AUTH_ADMIN_ROLE"),
    jwksCooldownSeconds: envValue("ORCHESTRA_AUTH_JWKS_COOLDOWN_SECONDS"),
    jwksMaxAgeSeconds: envValue("ORCHESTRA_AUTH_JWKS_MAX_AGE_SECONDS"),
    apiKey: envValue("ORCHESTRA_API_KEY"),
    customAuthPath: await customAuthPath(configFile),
  });
  if (!parsed.success) throw new InputError(`auth configuration: ${parsed.error.issues[0]!.message}`);
  return parsed.data;
}
