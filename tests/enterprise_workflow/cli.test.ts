import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { stringify } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunSummary } from "../../state/enterprise_workflow/report.js";
import { compileEnterpriseWorkflow } from "../../graphs/enterprise_workflow.js";
import type { AuditEntry, EnterpriseState } from "../../state/enterprise_workflow/state.js";
import { until } from "../support/calls.js";
import { finished, PROJECT_ROOT, runCli, spawnCli, type CliResult } from "../support/cli.js";
import { createTestSchema, type TestSchema } from "../support/database.js";
import { startReceiver, type Receiver } from "../support/receiver.js";

// The engine's operator surface as a user meets it: `orchestra` child processes on a schema of their own.

let db: TestSchema;
let dir: string;
let receiver: Receiver;

beforeAll(async () => {
  db = await createTestSchema();
  dir = await mkdtemp(path.join(os.tmpdir(), "orchestra-engine-cli-"));
  receiver = await startReceiver();
});
afterAll(async () => {
  await receiver?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
  await db?.cleanup();
});

const env = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
  DATABASE_URL: db.databaseUrl,
  ORCHESTRA_DB_SCHEMA: db.schema,
  ORCHESTRA_MODEL: "offline",
  ORCHESTRA_WEBHOOK_ALLOW_HOSTS: "127.0.0.1",
  WAREHOUSE_TOKEN: "dev-token",
  ...extra,
});
const orchestra = (args: string[], extra: NodeJS.ProcessEnv = {}) => runCli(args, env(extra));

function summaryOf(result: CliResult): RunSummary {
  const last = result.stdout.trim().split("\n").at(-1) ?? "";
  try {
    return JSON.parse(last) as RunSummary;
  } catch {
    throw new Error(`no JSON summary on stdout:\n${result.stdout}\nstderr:\n${result.stderr}`);
  }
}

const fixture = (name: string) => path.join(PROJECT_ROOT, "tests/enterprise_workflow/fixtures", name);

/** Checkpoint rows of a thread: zero for a run refused before it started. */
async function checkpointRows(threadId: string): Promise<number> {
  const { default: pg } = await import("pg");
  const client = new pg.Client({ connectionString: db.databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: string }>(
      `SELECT count(*) AS n FROM "${db.schema}".checkpoints WHERE thread_id = $1`,
      [threadId],
    );
    return Number(rows[0]!.n);
  } catch (error) {
    // No checkpoint table yet: nothing was ever saved in this schema.
    if ((error as { code?: string }).code === "42P01") return 0;
    throw error;
  } finally {
    await client.end();
  }
}

describe("workflow validate and refused runs", () => {
  it("a shipped example is valid: exit 0", async () => {
    const result = await orchestra([
      "workflow",
      "validate",
      path.join(PROJECT_ROOT, "definitions/enterprise_workflow/ecommerce_order.yaml"),
      "--json",
    ]);
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ valid: true, name: "ecommerce_order", version: "1.0", steps: 6 });
  });

  it.each([
    ["a cycle", "cycle.yaml", /cycle: a → b → c → a/],
    ["a missing dependency", "missing-dependency.yaml", /depends on unknown step .ghost./],
    ["a duplicate id", "duplicate-id.json", /duplicate/i],
    ["a bad expression", "bad-expression.yaml", /step .fraud_check.: bad condition/],
  ])("%s: validate and run exit 2 with one line, and nothing is saved", async (_, file, problem) => {
    const validated = await orchestra(["workflow", "validate", fixture(file)]);
    expect(validated.code).toBe(2);
    expect(validated.stdout).toBe("");
    expect(validated.stderr.trim().split("\n")).toHaveLength(1);
    expect(validated.stderr).toMatch(problem);
    expect(validated.stderr).not.toMatch(/\bat .*\.ts:\d+/);

    const threadId = `refused-${file.replace(/\W/g, "-")}`;
    const ran = await orchestra(["workflow", "run", fixture(file), "--thread", threadId, "--json"]);
    expect(ran.code).toBe(2);
    expect(ran.stdout).toBe("");
    expect(ran.stderr.trim().split("\n")).toEqual([validated.stderr.trim()]);
    expect(await checkpointRows(threadId)).toBe(0);
  });

  it.each([
    ["not JSON", "{amount: 1"],
    ["not an object", "[1, 2]"],
    ["a missing @file", "@/nonexistent/input.json"],
  ])("--input %s: exit 2, one line, nothing saved", async (_, input) => {
    const threadId = `bad-input-${input.length}`;
    const result = await orchestra([
      "workflow",
      "run",
      "financial_transaction",
      "--input",
      input,
      "--thread",
      threadId,
    ]);
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split("\n")).toHaveLength(1);
    expect(result.stderr).toMatch(/--input/);
    expect(await checkpointRows(threadId)).toBe(0);
  });
});

describe("workflow run, graph and list", () => {
  it("run --json and show --json carry a failed step's error and the workflow's failure reason", async () => {
    const file = path.join(dir, "metadata-webhook.yaml");
    await writeFile(
      file,
      stringify({
        name: "metadata_webhook",
        steps: [
          {
            stepId: "notify",
            stepType: "webhook",
            action: { webhook: { endpoint: "http://169.254.169.254/latest", payload: {} } },
          },
        ],
      }),
    );
    const result = await orchestra(["workflow", "run", file, "--thread", "refused-webhook", "--json"]);
    expect(result.code, result.stderr).toBe(1);
    const summary = summaryOf(result);
    expect(summary.status).toBe("FAILED");
    expect(summary.steps.notify!.error).toMatch(/169\.254\.169\.254.*ORCHESTRA_WEBHOOK_ALLOW_HOSTS/);
    expect(summary.failureReason).toMatch(/notify.*169\.254\.169\.254.*ORCHESTRA_WEBHOOK_ALLOW_HOSTS/);
    const shown = await orchestra(["show", "refused-webhook", "--json"]);
    expect(JSON.parse(shown.stdout)).toMatchObject({ status: "FAILED", failureReason: summary.failureReason });
  });

  it("run --json: progress per step on stderr, the summary as the last stdout line", async () => {
    const result = await orchestra([
      "workflow",
      "run",
      "financial_transaction",
      "--input",
      '{"amount": 10000}',
      "--thread",
      "json-run",
      "--json",
    ]);
    expect(result.code, result.stderr).toBe(0);
    const summary = summaryOf(result);
    expect(summary).toMatchObject({ threadId: "json-run", status: "COMPLETED", next: [] });
    expect(summary.steps.compliance_review!.status).toBe("SKIPPED");
    expect(summary.steps.fraud_detection!.status).toBe("SKIPPED");
    expect(summary.steps.generate_receipt).toMatchObject({ status: "COMPLETED", attempts: 1, iterations: 0 });
    expect(typeof summary.steps.generate_receipt!.durationMs).toBe("number");
    expect(result.stdout.trim().split("\n")).toHaveLength(1);
    expect(result.stderr).toMatch(/^ +validate_transaction +COMPLETED/m);
    expect(result.stderr).toMatch(/^ +compliance_review +SKIPPED/m);
  });

  it("run without --json, piped: plain step lines on stdout and a closing status line", async () => {
    const result = await orchestra([
      "workflow",
      "run",
      "financial_transaction",
      "--input",
      '{"amount": 5}',
      "--thread",
      "plain-run",
    ]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^thread plain-run · workflow financial_transaction v1\.0$/m);
    expect(result.stdout).toMatch(/^ +process_and_log +COMPLETED +\d+ms · 2 of 2 children succeeded$/m);
    expect(result.stdout).toMatch(/^COMPLETED: thread plain-run$/m);
    expect(result.stdout).not.toMatch(/\x1b\[/);
  });

  it("graph prints the definition's steps and dependencies as mermaid", async () => {
    const result = await orchestra(["workflow", "graph", "ecommerce_order"]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^flowchart TD/);
    expect(result.stdout).toContain("s_validate_order --> s_process_payment_and_inventory");
    expect(result.stdout).toContain("s_notify_warehouse --> s_send_confirmation_email");
    expect(result.stdout).not.toContain("orchestrator");
  });

  it("list shows the shipped examples, and definitions in ORCHESTRA_WORKFLOWS_DIR", async () => {
    const own = await mkdtemp(path.join(dir, "flows-"));
    await writeFile(
      path.join(own, "nightly_report.yaml"),
      stringify({
        name: "nightly_report",
        steps: [{ stepId: "a", stepType: "sequential", action: { llm: "Report." } }],
      }),
    );
    const result = await orchestra(["workflow", "list", "--json"], { ORCHESTRA_WORKFLOWS_DIR: own });
    expect(result.code, result.stderr).toBe(0);
    const names = (JSON.parse(result.stdout) as { name: string; valid: boolean }[]).map((row) => row.name);
    expect(names).toEqual([
      "content_moderation",
      "customer_service",
      "ecommerce_order",
      "financial_transaction",
      "nightly_report",
      "order_payment",
      "vendor_selection",
    ]);
  });
});

describe("approvals from the CLI", () => {
  it("financial_transaction 10001 waits at compliance_review; a teller is refused and asked again; a compliance officer approves", async () => {
    const started = await orchestra([
      "workflow",
      "run",
      "financial_transaction",
      "--input",
      '{"amount": 10001}',
      "--thread",
      "tx-10001",
      "--json",
    ]);
    expect(started.code, started.stderr).toBe(0);
    expect(summaryOf(started)).toMatchObject({ status: "WAITING_APPROVAL", next: ["approval_worker"] });
    expect(started.stderr).toMatch(/approval at compliance_review: .*\n +roles: compliance_officer/);

    const refused = await orchestra([
      "resume",
      "tx-10001",
      "--approve",
      "--reviewer",
      "tom",
      "--role",
      "teller",
      "--json",
    ]);
    expect(refused.code, refused.stderr).toBe(0);
    expect(summaryOf(refused).status).toBe("WAITING_APPROVAL");
    expect(refused.stderr).toMatch(/refused: tom \(teller\) may not decide; needs role compliance_officer/);

    const approved = await orchestra([
      "resume",
      "tx-10001",
      "--approve",
      "--reviewer",
      "carol",
      "--role",
      "compliance_officer",
      "--json",
    ]);
    expect(approved.code, approved.stderr).toBe(0);
    const summary = summaryOf(approved);
    expect(summary.status).toBe("COMPLETED");
    expect(summary.steps.compliance_review!.status).toBe("COMPLETED");

    const audit = JSON.parse((await orchestra(["audit", "tx-10001", "--json"])).stdout) as AuditEntry[];
    expect(
      audit
        .filter((entry) => entry.stepId === "compliance_review" && entry.actor)
        .map((entry) => [entry.event, entry.actor]),
    ).toEqual([
      ["approval_refused", "tom"],
      ["approval_granted", "carol (compliance_officer)"],
    ]);
  });

  it("resume refuses, with one line, a decision without --role, and a decision for a thread that waits for none", async () => {
    await orchestra([
      "workflow",
      "run",
      "financial_transaction",
      "--input",
      '{"amount": 20000}',
      "--thread",
      "tx-norole",
    ]);
    const noRole = await orchestra(["resume", "tx-norole", "--approve", "--reviewer", "carol"]);
    expect(noRole.code).toBe(2);
    expect(noRole.stderr.trim().split("\n")).toHaveLength(1);
    expect(noRole.stderr).toMatch(/--role/);
    const notWaiting = await orchestra([
      "resume",
      "json-run",
      "--approve",
      "--reviewer",
      "carol",
      "--role",
      "compliance_officer",
    ]);
    expect(notWaiting.code).toBe(2);
    expect(notWaiting.stderr).toMatch(/not waiting for an approval/);
  });

  it("threads, show and history read engine threads", async () => {
    const threads = JSON.parse((await orchestra(["threads", "--json", "--limit", "50"])).stdout) as {
      threadId: string;
      workflow: string;
      status: string;
      reviewPoint: string | null;
    }[];
    expect(threads.find((t) => t.threadId === "tx-10001")).toMatchObject({
      workflow: "financial_transaction",
      status: "COMPLETED",
    });
    expect(threads.find((t) => t.threadId === "tx-norole")).toMatchObject({
      status: "WAITING_APPROVAL",
      reviewPoint: "compliance_review",
    });
    const waiting = JSON.parse((await orchestra(["threads", "--json", "--status", "interrupted"])).stdout) as {
      threadId: string;
    }[];
    expect(waiting.map((t) => t.threadId)).toContain("tx-norole");

    const shown = await orchestra(["show", "tx-10001"]);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toMatch(/^Thread tx-10001 — COMPLETED$/m);
    expect(shown.stdout).toMatch(/^ +compliance_review +COMPLETED/m);
    expect(shown.stdout).toMatch(/^Audit: \d+ entries, actors tom, carol \(compliance_officer\)/m);

    const history = JSON.parse((await orchestra(["history", "tx-10001", "--json"])).stdout) as { nodes: string[] }[];
    expect(history.flatMap((entry) => entry.nodes)).toContain("approval_worker");
  });
});

describe("pause, cancel and audit from another process", () => {
  const chain = (name: string) => ({
    name,
    steps: ["s1", "s2", "s3", "s4", "s5", "s6"].map((id, i) => ({
      stepId: id,
      stepType: "sequential",
      dependencies: i ? [`s${i}`] : [],
      action: { llm: `Do ${id}.` },
      rollbackActions: [`Undo ${id}.`],
    })),
  });
  // Each step takes 2.5 s: the operator's command, a process of its own that starts in seconds on a busy machine, lands before the chain ends.
  const slow = { ORCHESTRA_OFFLINE_LATENCY_MS: "2500" };
  // Reads the run's checkpoints from here, to send the request once it is under way.
  let reader: ReturnType<typeof compileEnterpriseWorkflow>;
  beforeAll(() => {
    reader = compileEnterpriseWorkflow(db.checkpointer);
  });

  async function startSlowRun(threadId: string) {
    const file = path.join(dir, `${threadId}.yaml`);
    await writeFile(file, stringify(chain(threadId)));
    const running = finished(spawnCli(["workflow", "run", file, "--thread", threadId, "--json"], env(slow)));
    await until(async () => {
      const values = (await reader.getState({ configurable: { thread_id: threadId } }))
        .values as Partial<EnterpriseState>;
      return values.steps?.s1?.status === "COMPLETED";
    }, `${threadId}: s1 completed`);
    // Wrapped: an async function returning the promise itself would wait for the run to end.
    return { running };
  }

  it("pause: the run stops PAUSED at a step boundary; resume runs it to completion; audit names the operator", async () => {
    const { running } = await startSlowRun("cli-paused");
    const paused = await orchestra(["pause", "cli-paused", "--reviewer", "ops-oncall"]);
    expect(paused.code, paused.stderr).toBe(0);
    expect(paused.stdout).toMatch(/pause requested for thread cli-paused by ops-oncall/);
    const run = await running;
    expect(run.code, run.stderr).toBe(0);
    expect(summaryOf(run)).toMatchObject({ status: "PAUSED", next: ["pause_gate"] });
    expect(summaryOf(run).steps.s6!.status).toBe("PENDING");

    const resumed = await orchestra(["resume", "cli-paused", "--reviewer", "ops-oncall", "--json"], slow);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(summaryOf(resumed).status).toBe("COMPLETED");

    const audit = await orchestra(["audit", "cli-paused"]);
    expect(audit.stdout).toMatch(/ops-oncall +workflow_paused/);
    expect(audit.stdout).toMatch(/ops-oncall +workflow_resumed/);
  });

  it("cancel: the run ends CANCELLED with its completed steps compensated", async () => {
    const { running } = await startSlowRun("cli-cancelled");
    expect((await orchestra(["cancel", "cli-cancelled", "--reviewer", "ops-oncall"])).code).toBe(0);
    const run = await running;
    expect(run.code).toBe(1);
    expect(summaryOf(run).status).toBe("CANCELLED");
    const audit = JSON.parse((await orchestra(["audit", "cli-cancelled", "--json"])).stdout) as AuditEntry[];
    expect(audit.some((entry) => entry.event === "compensation_completed")).toBe(true);
    expect(audit.at(-1)).toMatchObject({ event: "workflow_cancelled" });
  });

  it("pause and audit refuse a thread that is not the engine's with one line", async () => {
    const result = await orchestra(["pause", "no-such-thread"]);
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split("\n")).toHaveLength(1);
  });
});

describe("the four examples by name, approvals answered", () => {
  /** Runs the example, answering each approval as the role it asks for, until it ends. */
  async function runToEnd(name: string, threadId: string, input: Record<string, unknown>, role: string) {
    let result = await orchestra([
      "workflow",
      "run",
      name,
      "--input",
      JSON.stringify(input),
      "--thread",
      threadId,
      "--json",
    ]);
    const approvals: string[] = [];
    for (let asked = 0; summaryOf(result).status === "WAITING_APPROVAL" && asked < 5; asked++) {
      approvals.push(/approval at (\S+):/.exec(result.stderr)?.[1] ?? "?");
      result = await orchestra(["resume", threadId, "--approve", "--reviewer", "dana", "--role", role, "--json"]);
    }
    expect(result.code, result.stderr).toBe(0);
    return { summary: summaryOf(result), approvals };
  }

  it("customer_service: a support lead approves the drafted answer", async () => {
    const { summary, approvals } = await runToEnd("customer_service", "ex-cs", {}, "support_lead");
    expect(summary.status).toBe("COMPLETED");
    expect(approvals).toEqual(["quality_check"]);
  });

  it("ecommerce_order: the warehouse receiver acts once", async () => {
    const { summary, approvals } = await runToEnd(
      "ecommerce_order",
      "ex-order",
      { warehouse_url: `${receiver.url}/ship`, premium_customer: true },
      "none",
    );
    expect(summary.status).toBe("COMPLETED");
    expect(approvals).toEqual([]);
    expect(summary.steps.handle_special_shipping!.status).toBe("COMPLETED");
    const calls = (await receiver.received()).filter((call) => call.path === "/ship");
    expect(calls.map((call) => call.acted)).toEqual([true]);
  });

  it("content_moderation: confidence 0.75 escalates to a content moderator", async () => {
    const { summary, approvals } = await runToEnd(
      "content_moderation",
      "ex-mod",
      { confidence: 0.75, notify_url: `${receiver.url}/notify` },
      "content_moderator",
    );
    expect(summary.status).toBe("COMPLETED");
    expect(approvals).toEqual(["human_review"]);
  });

  it("financial_transaction: 10001 goes through fraud detection and a compliance officer", async () => {
    const { summary, approvals } = await runToEnd(
      "financial_transaction",
      "ex-tx",
      { amount: 10001 },
      "compliance_officer",
    );
    expect(summary.status).toBe("COMPLETED");
    expect(approvals).toEqual(["compliance_review"]);
    expect(summary.steps.fraud_detection!.status).toBe("COMPLETED");
  });
});
