import http from "node:http";
import type { AddressInfo } from "node:net";
import { exportJWK, generateKeyPair, type JWK } from "jose";
import Provider from "oidc-provider";

/** The API the provider's tokens are for (their `aud`). */
export const AUDIENCE = "https://orchestra.test/api";

export interface TestIdentityProvider {
  issuer: string;
  jwksUrl: string;
  /** An access token for the client, by the client-credentials grant: `sub` is the client id, `roles` its roles. */
  token(clientId: string): Promise<string>;
  /** Signs with a new key from now on and publishes only it: the old key is removed from the JWKS. */
  rotate(): Promise<void>;
  /** The private key tokens are signed with now, for tests that sign bad tokens by hand. */
  signingKey(): JWK;
  stop(): Promise<void>;
}

async function newSigningKey(): Promise<JWK> {
  const { privateKey } = await generateKeyPair("RS256", { extractable: true });
  return {
    ...(await exportJWK(privateKey)),
    kid: `key-${Date.now()}-${Math.random().toString(16).slice(2, 8)}`,
    alg: "RS256",
    use: "sig",
  };
}

/**
 * A real OpenID provider (panva's oidc-provider) on a port the OS picks, issuing JWT access tokens
 * for `AUDIENCE` by the client-credentials grant to the clients given (client id → roles), each
 * with the secret "secret". Rotation swaps in a provider signing with a new key on the same issuer.
 */
export async function startIdentityProvider(clients: Record<string, string[]>): Promise<TestIdentityProvider> {
  let provider: Provider | undefined;
  const server = http.createServer((request, response) => provider!.callback()(request, response));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  let key = await newSigningKey();
  const build = () =>
    new Provider(issuer, {
      clients: Object.keys(clients).map((client_id) => ({
        client_id,
        client_secret: "secret",
        grant_types: ["client_credentials"],
        redirect_uris: [],
        response_types: [],
      })),
      jwks: { keys: [key] },
      ttl: { ClientCredentials: 600 },
      features: {
        clientCredentials: { enabled: true },
        resourceIndicators: {
          enabled: true,
          defaultResource: () => AUDIENCE,
          useGrantedResource: () => true,
          getResourceServerInfo: () => ({
            scope: "api",
            audience: AUDIENCE,
            accessTokenFormat: "jwt",
            accessTokenTTL: 600,
            jwt: { sign: { alg: "RS256" } },
          }),
        },
      },
      extraTokenClaims: (_ctx, token) =>
        "clientId" in token && token.clientId ? { roles: clients[token.clientId] ?? [] } : {},
    });
  provider = build();
  return {
    issuer,
    jwksUrl: `${issuer}/jwks`,
    async token(clientId) {
      const response = await fetch(`${issuer}/token`, {
        method: "POST",
        headers: {
          "content-type": "application/x-www-form-urlencoded",
          authorization: `Basic ${Buffer.from(`${clientId}:secret`).toString("base64")}`,
        },
        body: new URLSearchParams({ grant_type: "client_credentials", scope: "api", resource: AUDIENCE }),
      });
      const body = (await response.json()) as { access_token?: string; error_description?: string };
      if (!body.access_token)
        throw new Error(`the provider gave no token to ${clientId}: ${body.error_description ?? response.status}`);
      return body.access_token;
    },
    async rotate() {
      key = await newSigningKey();
      provider = build();
    },
    signingKey: () => key,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A provider with the usual cast: alice and bob with no role, root the admin, carol the compliance officer; and a token for each. */
export async function startUsualProvider(): Promise<{ idp: TestIdentityProvider; tokens: Record<string, string> }> {
  const roles: Record<string, string[]> = { alice: [], bob: [], root: ["admin"], carol: ["compliance_officer"] };
  const idp = await startIdentityProvider(roles);
  const tokens: Record<string, string> = {};
  for (const user of Object.keys(roles)) tokens[user] = await idp.token(user);
  return { idp, tokens };
}

/** `orchestra serve`'s environment for verifying this provider's tokens. */
export const tokenAuthEnv = (idp: TestIdentityProvider) => ({
  ORCHESTRA_AUTH_JWKS_URL: idp.jwksUrl,
  ORCHESTRA_AUTH_ISSUER: idp.issuer,
  ORCHESTRA_AUTH_AUDIENCE: AUDIENCE,
});

/** A request to the server with the token as a bearer credential (none: no credential); its status and JSON body. */
export async function callAs(url: string, token: string | undefined, method: string, route: string, body?: unknown) {
  const response = await fetch(`${url}${route}`, {
    method,
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : undefined };
}
