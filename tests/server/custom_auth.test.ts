import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PROJECT_ROOT } from "../support/cli.js";
import { createTestSchema, type TestSchema } from "../support/database.js";
import { callAs, startUsualProvider, tokenAuthEnv, type TestIdentityProvider } from "../support/identity_provider.js";
import { startServer, type ServerProcess } from "./support.js";

// LangGraph custom auth: langgraph.json names `auth.path`, here the shipped example
// (server/auth/example_auth.ts), which verifies the provider's tokens and gives each user their
// own threads; its handlers' filters, refusals and user reach the routes and the nodes.

let db: TestSchema;
let idp: TestIdentityProvider;
let server: ServerProcess;
let configDir: string;
let tokens: Record<string, string>;

beforeAll(async () => {
  ({ idp, tokens } = await startUsualProvider());
  configDir = await mkdtemp(path.join(os.tmpdir(), "orchestra-custom-auth-"));
  const config = path.join(configDir, "langgraph.json");
  await writeFile(
    config,
    JSON.stringify({ graphs: {}, auth: { path: `${path.join(PROJECT_ROOT, "server/auth/example_auth.ts")}:auth` } }),
  );
  db = await createTestSchema();
  server = await startServer(db.schema, { ORCHESTRA_LANGGRAPH_CONFIG: config, ...tokenAuthEnv(idp) });
}, 120_000);

afterAll(async () => {
  await server?.stop();
  await idp?.stop();
  await db?.cleanup();
  if (configDir) await rm(configDir, { recursive: true, force: true });
});

const call = (user: string | undefined, method: string, route: string, body?: unknown) =>
  callAs(server.url, user && tokens[user], method, route, body);

describe("a langgraph.json Auth module", () => {
  it("authenticates with its own authenticate: no token is 401", async () => {
    expect((await call(undefined, "POST", "/threads/search", {})).status).toBe(401);
  });

  it("applies its filters: a thread is its creator's in search and on get; the admin sees all", async () => {
    const created = await call("alice", "POST", "/threads", { metadata: { project: "custom" } });
    expect(created.body).toMatchObject({ metadata: { owner: "alice", project: "custom" } });
    const threadId = created.body!.thread_id as string;
    const listed = async (user: string) =>
      ((await call(user, "POST", "/threads/search", { limit: 100 })).body as unknown as { thread_id: string }[]).map(
        (t) => t.thread_id,
      );
    expect(await listed("alice")).toContain(threadId);
    expect(await listed("bob")).not.toContain(threadId);
    expect(await listed("root")).toContain(threadId);
    expect((await call("bob", "GET", `/threads/${threadId}`)).status).toBe(404);
    expect((await call("alice", "GET", `/threads/${threadId}`)).status).toBe(200);
  });

  it("answers a handler's refusal with 403: assistants change only for the admin, the store only under one's own namespace", async () => {
    const refused = await call("alice", "POST", "/assistants", { graph_id: "parallel_workflow", name: "mine" });
    expect(refused.status).toBe(403);
    expect((await call("root", "POST", "/assistants", { graph_id: "parallel_workflow", name: "shared" })).status).toBe(
      200,
    );
    const foreign = await call("alice", "PUT", "/store/items", {
      namespace: ["bob", "notes"],
      key: "k",
      value: { a: 1 },
    });
    expect(foreign.status).toBe(403);
    expect(foreign.body).toMatchObject({ message: expect.stringContaining('start with "alice"') });
    expect(
      (await call("alice", "PUT", "/store/items", { namespace: ["alice", "notes"], key: "k", value: { a: 1 } })).status,
    ).toBe(204);
  });

  it("hands the user to the graph's nodes: the approval step decides as the authenticated user, whatever the client puts in its config", async () => {
    const start = async (user: string) => {
      const thread = await call(user, "POST", "/threads", {});
      const threadId = thread.body!.thread_id as string;
      await call(user, "POST", `/threads/${threadId}/runs/wait`, {
        assistant_id: "enterprise_workflow",
        input: { definition: "financial_transaction", input: { amount: 10001 } },
      });
      return threadId;
    };
    const approve = (user: string, threadId: string, configurable: Record<string, unknown> = {}) =>
      call(user, "POST", `/threads/${threadId}/runs/wait`, {
        assistant_id: "enterprise_workflow",
        command: { resume: { decision: "approve", reviewer: user } },
        config: { configurable },
      });
    const bobs = await start("bob");
    const forged = await approve("bob", bobs, {
      langgraph_auth_user: { identity: "carol", permissions: ["compliance_officer"] },
    });
    expect(forged.body).toMatchObject({ status: "WAITING_APPROVAL" });
    expect(
      (forged.body!.auditTrail as Record<string, unknown>[]).find((entry) => entry.event === "approval_refused"),
    ).toMatchObject({ identity: { source: "verified", subject: "bob", roles: [] } });

    const carols = await start("carol");
    const accepted = await approve("carol", carols);
    expect(accepted.body).toMatchObject({ status: "COMPLETED" });
    expect(
      (accepted.body!.auditTrail as Record<string, unknown>[]).find((entry) => entry.event === "approval_granted"),
    ).toMatchObject({
      identity: { source: "verified", subject: "carol", issuer: idp.issuer, roles: ["compliance_officer"] },
    });
  }, 120_000);
});
