import { Client } from "@langchain/langgraph-sdk";
import { importJWK, SignJWT, generateKeyPair, decodeJwt } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestSchema, type TestSchema } from "../support/database.js";
import {
  AUDIENCE,
  callAs,
  startUsualProvider,
  tokenAuthEnv,
  type TestIdentityProvider,
} from "../support/identity_provider.js";
import { startServer, TASK, type ServerProcess } from "./support.js";

// `orchestra serve` verifying bearer tokens from a real OpenID provider (oidc-provider, the
// client-credentials grant, its JWKS endpoint). Good tokens come from the provider; only the bad
// ones are signed here by hand.

const API_KEY = "auth-test-service-key";
let db: TestSchema;
let idp: TestIdentityProvider;
let server: ServerProcess;
let tokens: Record<string, string>;

beforeAll(async () => {
  ({ idp, tokens } = await startUsualProvider());
  db = await createTestSchema();
  server = await startServer(db.schema, {
    ORCHESTRA_API_KEY: API_KEY,
    ...tokenAuthEnv(idp),
    // A key id missing from the cached set fetches it again at once: the rotation test needs no wait.
    ORCHESTRA_AUTH_JWKS_COOLDOWN_SECONDS: "0",
  });
}, 120_000);

afterAll(async () => {
  await server?.stop();
  await idp?.stop();
  await db?.cleanup();
});

const call = (token: string | undefined, method: string, route: string, body?: unknown) =>
  callAs(server.url, token, method, route, body);

const sdk = (token: string) =>
  new Client({
    apiUrl: server.url,
    defaultHeaders: { Authorization: `Bearer ${token}` },
    callerOptions: { maxRetries: 0 },
  });

/** A token signed here with the provider's own key and kid, with the claims given. */
async function handSigned(
  claims: Record<string, unknown>,
  options: { exp?: string | number; nbf?: string | number } = {},
) {
  const jwk = idp.signingKey();
  const key = await importJWK(jwk, "RS256");
  let builder = new SignJWT({ roles: [], ...claims }).setProtectedHeader({ alg: "RS256", kid: jwk.kid! }).setIssuedAt();
  builder = builder.setExpirationTime(options.exp ?? "5m");
  if (options.nbf !== undefined) builder = builder.setNotBefore(options.nbf);
  return builder.sign(key);
}

const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");

describe("bearer tokens", () => {
  it("accepts the provider's token, and refuses expired, not-yet-valid, wrong audience, wrong issuer, alg none, unknown key and tampered ones with 401", async () => {
    expect((await call(tokens.alice, "POST", "/threads/search", {})).status).toBe(200);
    const good = { sub: "alice", iss: idp.issuer, aud: AUDIENCE };
    expect((await call(await handSigned(good), "POST", "/threads/search", {})).status).toBe(200);

    const { privateKey: stranger } = await generateKeyPair("RS256");
    const real = tokens.alice!;
    const [header, , signature] = real.split(".");
    const refused: Record<string, string> = {
      missing: "",
      expired: await handSigned(good, { exp: Math.floor(Date.now() / 1000) - 3600 }),
      "not yet valid": await handSigned(good, { nbf: Math.floor(Date.now() / 1000) + 3600 }),
      "wrong audience": await handSigned({ ...good, aud: "https://another.test/api" }),
      "wrong issuer": await handSigned({ ...good, iss: "https://evil.test" }),
      "alg none": `${base64url({ alg: "none", typ: "JWT" })}.${base64url({ ...good, exp: Math.floor(Date.now() / 1000) + 300 })}.`,
      "unknown key": await new SignJWT(good)
        .setProtectedHeader({ alg: "RS256", kid: "not-published" })
        .setExpirationTime("5m")
        .sign(stranger),
      tampered: `${header}.${base64url({ ...decodeJwt(real), sub: "root", roles: ["admin"] })}.${signature}`,
    };
    for (const [what, token] of Object.entries(refused)) {
      const answer = await call(token || undefined, "POST", "/threads/search", {});
      expect({ what, status: answer.status }).toEqual({ what, status: 401 });
      expect(answer.body?.message).toMatch(/token/);
    }
    // The API key stays: the service identity.
    const service = await fetch(`${server.url}/threads/search`, { method: "POST", headers: { "x-api-key": API_KEY } });
    expect(service.status).toBe(200);
  });
});

describe("ownership", () => {
  let threadId: string;
  let runId: string;

  beforeAll(async () => {
    const created = await sdk(tokens.alice!).threads.create({ metadata: { project: "auth" } });
    threadId = created.thread_id;
    expect(created.metadata).toMatchObject({ owner: "alice", project: "auth" });
    const run = await call(tokens.alice, "POST", `/threads/${threadId}/runs`, {
      assistant_id: "parallel_workflow",
      input: TASK,
      context: { review: "never" },
    });
    expect(run.status).toBe(200);
    runId = run.body!.run_id as string;
  }, 60_000);

  it("hides a user's thread from another: 404 on get, state, history, runs, join, stream join and cancel", async () => {
    const paths: [string, string][] = [
      ["GET", `/threads/${threadId}`],
      ["GET", `/threads/${threadId}/state`],
      ["GET", `/threads/${threadId}/history`],
      ["POST", `/threads/${threadId}/history`],
      ["GET", `/threads/${threadId}/runs`],
      ["GET", `/threads/${threadId}/runs/${runId}`],
      ["GET", `/threads/${threadId}/runs/${runId}/join`],
      ["GET", `/threads/${threadId}/runs/${runId}/stream`],
      ["POST", `/threads/${threadId}/runs/${runId}/cancel`],
      ["POST", `/threads/${threadId}/runs`],
      ["PATCH", `/threads/${threadId}`],
      ["DELETE", `/threads/${threadId}`],
    ];
    for (const [method, path] of paths) {
      const answer = await call(tokens.bob, method, path, method === "GET" ? undefined : {});
      expect({ method, path, status: answer.status }).toEqual({ method, path, status: 404 });
    }
    expect((await call(tokens.bob, "POST", "/runs/cancel", { run_ids: [runId] })).status).toBe(404);
    // Alice still reads her own.
    expect((await call(tokens.alice, "GET", `/threads/${threadId}/state`)).status).toBe(200);
    expect((await call(tokens.alice, "GET", `/threads/${threadId}/runs/${runId}`)).status).toBe(200);
  });

  it("lists only one's own threads in a search; the admin role and the API key see all", async () => {
    const ids = async (found: { thread_id: string }[]) => found.map((t) => t.thread_id);
    expect(await ids(await sdk(tokens.bob!).threads.search({ limit: 100 }))).not.toContain(threadId);
    expect(
      await ids(await sdk(tokens.bob!).threads.search({ metadata: { owner: "alice" }, limit: 100 })),
    ).not.toContain(threadId);
    expect(await ids(await sdk(tokens.alice!).threads.search({ limit: 100 }))).toContain(threadId);
    expect(await ids(await sdk(tokens.root!).threads.search({ limit: 100 }))).toContain(threadId);
    expect((await call(tokens.root, "GET", `/threads/${threadId}`)).status).toBe(200);
    expect(await ids(await server.client(API_KEY).threads.search({ limit: 100 }))).toContain(threadId);
  });

  it("keeps applying the optimizer, which changes every user's workflow, to the admin role and the API key", async () => {
    const refused = await call(tokens.alice, "POST", "/orchestra/optimize/parallel_workflow/apply");
    expect(refused.status).toBe(403);
    expect(refused.body?.message).toMatch(/admin role/);
  });

  it("stamps the creator over an owner the client names", async () => {
    const created = await sdk(tokens.bob!).threads.create({ metadata: { owner: "alice" } });
    expect(created.metadata).toMatchObject({ owner: "bob" });
  });
});

describe("engine approvals through the API", () => {
  it("refuses a token without compliance_officer (the thread still waits, the audit names who), then accepts one with it", async () => {
    const thread = await sdk(tokens.alice!).threads.create();
    const start = await call(tokens.alice, "POST", `/threads/${thread.thread_id}/runs/wait`, {
      assistant_id: "enterprise_workflow",
      input: { definition: "financial_transaction", input: { amount: 10001 } },
    });
    expect(start.status).toBe(200);
    expect(start.body).toMatchObject({ status: "WAITING_APPROVAL" });

    // Alice owns the thread, but holds no compliance_officer role, whatever role she names.
    const refused = await call(tokens.alice, "POST", `/threads/${thread.thread_id}/runs/wait`, {
      assistant_id: "enterprise_workflow",
      command: { resume: { decision: "approve", reviewer: "someone-else", role: "compliance_officer" } },
    });
    expect(refused.body).toMatchObject({ status: "WAITING_APPROVAL" });
    const refusal = (refused.body!.auditTrail as Record<string, unknown>[]).find(
      (entry) => entry.event === "approval_refused",
    );
    expect(refusal).toMatchObject({
      actor: "alice",
      identity: { source: "verified", subject: "alice", issuer: idp.issuer, roles: [] },
      detail: expect.stringContaining("does not grant"),
    });

    // Carol's token grants the role: on a thread of her own, her approval decides, with no reviewer or role named.
    const own = await sdk(tokens.carol!).threads.create();
    await call(tokens.carol, "POST", `/threads/${own.thread_id}/runs/wait`, {
      assistant_id: "enterprise_workflow",
      input: { definition: "financial_transaction", input: { amount: 10001 } },
    });
    const accepted = await call(tokens.carol, "POST", `/threads/${own.thread_id}/runs/wait`, {
      assistant_id: "enterprise_workflow",
      command: { resume: { decision: "approve" } },
    });
    expect(accepted.body).toMatchObject({ status: "COMPLETED" });
    const granted = (accepted.body!.auditTrail as Record<string, unknown>[]).find(
      (entry) => entry.event === "approval_granted",
    );
    expect(granted).toMatchObject({
      actor: "carol (compliance_officer)",
      identity: { source: "verified", subject: "carol", issuer: idp.issuer, roles: ["compliance_officer"] },
    });
  }, 120_000);
});

describe("key rotation", () => {
  it("accepts a token signed with the provider's new key once the JWKS is fetched again, and refuses the removed key's", async () => {
    const before = await idp.token("alice");
    expect((await call(before, "POST", "/threads/search", {})).status).toBe(200);
    await idp.rotate();
    const after = await idp.token("alice");
    expect((await call(after, "POST", "/threads/search", {})).status).toBe(200);
    const stale = await call(before, "POST", "/threads/search", {});
    expect(stale.status).toBe(401);
    expect(stale.body?.message).toMatch(/key the issuer does not publish/);
  });
});
