import { describe, expect, it } from "vitest";
import { approvalOutcome } from "../../nodes/enterprise_workflow/approval.js";
import type { ApprovalTask } from "../../nodes/enterprise_workflow/tasks.js";
import { matchesFilters, narrowedMetadata } from "../../server/auth/authorize.js";
import { AuthConfigSchema } from "../../server/auth/config.js";
import { normalisedUser } from "../../server/auth/custom.js";
import { assistantAction, threadAction } from "../../server/auth/middleware.js";
import { rolesOf } from "../../server/auth/tokens.js";

// The pure rules of identity: LangGraph's filter semantics, route actions, claims, config, and
// how an approval treats a verified approver against a declared one.

describe("filters", () => {
  it("match as on LangGraph's server: equal values, $eq, $contains (one or all), nothing to match passes", () => {
    expect(matchesFilters({ owner: "a" }, { owner: "a" })).toBe(true);
    expect(matchesFilters({ owner: "b" }, { owner: "a" })).toBe(false);
    expect(matchesFilters({}, { owner: "a" })).toBe(false);
    expect(matchesFilters({ owner: "a" }, { owner: { $eq: "a" } })).toBe(true);
    expect(matchesFilters({ users: ["a", "b"] }, { users: { $contains: "b" } })).toBe(true);
    expect(matchesFilters({ users: ["a"] }, { users: { $contains: ["a", "b"] } })).toBe(false);
    expect(matchesFilters({ users: "a" }, { users: { $contains: "a" } })).toBe(false);
    expect(matchesFilters(undefined, undefined)).toBe(true);
  });

  it("narrow a search's metadata, the caller's filter winning a key both name", () => {
    expect(narrowedMetadata({ owner: "bob", project: "x" }, { owner: "alice", users: { $contains: "alice" } })).toEqual(
      { owner: "alice", project: "x", users: ["alice"] },
    );
    expect(narrowedMetadata(undefined, undefined)).toEqual({});
  });
});

describe("route actions", () => {
  it("name each thread route's action as LangGraph does", () => {
    expect(threadAction("GET", "")).toBe("read");
    expect(threadAction("GET", "/state")).toBe("read");
    expect(threadAction("POST", "/history")).toBe("read");
    expect(threadAction("GET", "/runs/r1/stream")).toBe("read");
    expect(threadAction("POST", "/runs/stream")).toBe("create_run");
    expect(threadAction("POST", "/runs/crons")).toBe("create_run");
    expect(threadAction("POST", "/runs/r1/cancel")).toBe("update");
    expect(threadAction("POST", "/state")).toBe("update");
    expect(threadAction("PATCH", "")).toBe("update");
    expect(threadAction("DELETE", "")).toBe("delete");
    expect(threadAction("POST", "")).toBeUndefined();
    expect(assistantAction("PATCH", "")).toBe("update");
    expect(assistantAction("POST", "/versions")).toBe("read");
    expect(assistantAction("POST", "/latest")).toBe("update");
    expect(assistantAction("POST", "")).toBeUndefined();
  });
});

describe("claims and configuration", () => {
  it("read roles from an array or a space-separated string", () => {
    expect(rolesOf(["a", 1, "b"])).toEqual(["a", "b"]);
    expect(rolesOf("read  write")).toEqual(["read", "write"]);
    expect(rolesOf(undefined)).toEqual([]);
  });

  it("refuse token auth without issuer and audience, and two key sources at once", () => {
    const refused = (input: object) => AuthConfigSchema.safeParse(input).error?.issues[0]?.message;
    expect(refused({ jwksUrl: "https://idp.test/jwks" })).toMatch(/ORCHESTRA_AUTH_ISSUER and ORCHESTRA_AUTH_AUDIENCE/);
    expect(
      refused({
        jwksUrl: "https://idp.test/jwks",
        publicKey: "-----BEGIN PUBLIC KEY-----",
        issuer: "i",
        audience: "a",
      }),
    ).toMatch(/not both/);
    expect(refused({ jwksUrl: "https://idp.test/jwks", issuer: "i", audience: "a" })).toBeUndefined();
  });

  it("normalise an authenticate result: a string is an identity", () => {
    expect(normalisedUser("ann")).toEqual({
      identity: "ann",
      display_name: "ann",
      permissions: [],
      is_authenticated: true,
    });
    expect(normalisedUser({ identity: "ann", permissions: ["admin"], org: "o" })).toMatchObject({
      identity: "ann",
      display_name: "ann",
      permissions: ["admin"],
      org: "o",
    });
    expect(() => normalisedUser({ name: "ann" })).toThrow(/identity/);
  });
});

describe("approvals by identity", () => {
  const task: ApprovalTask = {
    kind: "approval",
    key: "compliance_review",
    stepId: "compliance_review",
    askedAt: "2026-01-01T00:00:00.000Z",
    deadline: "2026-01-02T00:00:00.000Z",
    refusals: 0,
    request: {
      kind: "approval",
      stepId: "compliance_review",
      name: "Compliance review",
      question: "?",
      approvers: ["compliance_officer"],
      allowedUsers: [],
      subject: {},
    },
  };
  const now = Date.parse("2026-01-01T00:01:00.000Z");
  const verified = (roles: string[]) => ({
    source: "verified" as const,
    subject: "carol",
    issuer: "https://idp.test",
    roles,
  });

  it("decides as the verified approver with a role the token grants, whoever the answer names", () => {
    const outcome = approvalOutcome(
      task,
      { decision: "approve", reviewer: "mallory" },
      now,
      verified(["compliance_officer"]),
    );
    expect(outcome.steps).toEqual({ compliance_review: expect.objectContaining({ status: "COMPLETED" }) });
    expect(outcome.auditTrail).toEqual([
      expect.objectContaining({
        event: "approval_granted",
        actor: "carol (compliance_officer)",
        identity: verified(["compliance_officer"]),
      }),
    ]);
  });

  it("refuses a role the token does not grant, naming who was refused", () => {
    const outcome = approvalOutcome(
      task,
      { decision: "approve", reviewer: "carol", role: "compliance_officer" },
      now,
      verified([]),
    );
    expect(outcome.steps).toEqual({ compliance_review: expect.objectContaining({ status: "PENDING" }) });
    expect(outcome.auditTrail).toEqual([
      expect.objectContaining({ event: "approval_refused", actor: "carol", identity: verified([]) }),
    ]);
  });

  it("records a role the CLI states as declared", () => {
    const outcome = approvalOutcome(task, { decision: "approve", reviewer: "dana", role: "compliance_officer" }, now);
    expect(outcome.auditTrail).toEqual([
      expect.objectContaining({ identity: { source: "declared", subject: "dana", roles: ["compliance_officer"] } }),
    ]);
  });
});
