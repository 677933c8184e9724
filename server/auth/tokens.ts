import type { JWTPayload, JWTVerifyGetKey } from "jose";
import { InputError } from "../../state/shared/errors.js";
import { HttpError } from "../http.js";
import { tokensConfigured, type AuthConfig } from "./config.js";
import type { AuthUser } from "./identity.js";

/** Asymmetric algorithms only: a server holding no secret cannot be fooled into HMAC with its public key, and `none` is never one. */
const ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"];
const PEM_ALGORITHMS = ["RS256", "ES256", "PS256", "EdDSA"] as const;

export type TokenVerifier = (token: string) => Promise<AuthUser>;

/** Roles from a claim: an array of strings, or a space-separated string as OAuth's `scope` is. */
export function rolesOf(claim: unknown): string[] {
  if (Array.isArray(claim)) return claim.filter((role): role is string => typeof role === "string");
  if (typeof claim === "string") return claim.split(/\s+/).filter(Boolean);
  return [];
}

/** The user a verified token's claims name; a token without the configured user claim names nobody. */
export function userOfClaims(payload: JWTPayload, config: Pick<AuthConfig, "userClaim" | "rolesClaim">): AuthUser {
  const identity = payload[config.userClaim];
  if (typeof identity !== "string" || identity === "")
    throw new HttpError(401, `invalid token: it has no "${config.userClaim}" claim naming the user`);
  const roles = rolesOf(payload[config.rolesClaim]);
  const name = typeof payload.name === "string" ? payload.name : identity;
  return {
    identity,
    display_name: name,
    permissions: roles,
    roles,
    is_authenticated: true,
    ...(payload.iss ? { issuer: payload.iss } : {}),
  };
}

type Jose = typeof import("jose");

async function keySource({ createRemoteJWKSet, importSPKI }: Jose, config: AuthConfig): Promise<JWTVerifyGetKey> {
  if (config.jwksUrl) {
    // jose keeps the fetched set, fetches again for a key id it lacks (at most once per cooldown:
    // a flood of made-up ids cannot hammer the provider) and once the set is older than its max age.
    return createRemoteJWKSet(new URL(config.jwksUrl), {
      cooldownDuration: config.jwksCooldownSeconds * 1000,
      cacheMaxAge: config.jwksMaxAgeSeconds * 1000,
    });
  }
  const pem = config.publicKey!;
  for (const alg of PEM_ALGORITHMS) {
    const key = await importSPKI(pem, alg).catch(() => undefined);
    if (key) return async () => key;
  }
  throw new InputError("ORCHESTRA_AUTH_PUBLIC_KEY: not an RSA, EC or Ed25519 public key in PEM");
}

/** Why a token is refused, in one line; never the token itself. */
function refusal({ errors }: Jose, error: unknown): string {
  if (error instanceof errors.JWTExpired) return "the token has expired; get a new one";
  if (error instanceof errors.JWTClaimValidationFailed)
    return `the token's "${error.claim}" claim is not accepted: ${error.reason}`;
  if (error instanceof errors.JWKSNoMatchingKey) return "the token is signed with a key the issuer does not publish";
  if (error instanceof errors.JOSEAlgNotAllowed)
    return "the token's algorithm is not accepted (asymmetric signatures only)";
  if (error instanceof errors.JWSSignatureVerificationFailed) return "the token's signature does not match its content";
  if (error instanceof errors.JOSEError) return `the token is not valid (${error.code})`;
  return "the token could not be verified";
}

/** Verifies bearer tokens against the issuer's keys, issuer and audience; undefined when no token key is configured. */
export async function tokenVerifier(config: AuthConfig): Promise<TokenVerifier | undefined> {
  if (!tokensConfigured(config)) return undefined;
  // Loaded only when tokens are on: a server without them starts as fast as before.
  const jose = await import("jose");
  const keys = await keySource(jose, config);
  return async (token) => {
    try {
      const { payload } = await jose.jwtVerify(token, keys, {
        issuer: config.issuer,
        audience: config.audience,
        algorithms: ALGORITHMS,
      });
      return userOfClaims(payload, config);
    } catch (error) {
      if (error instanceof HttpError) throw error;
      throw new HttpError(401, `invalid token: ${refusal(jose, error)}`);
    }
  };
}
