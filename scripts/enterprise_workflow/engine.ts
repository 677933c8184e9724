import { access } from "node:fs/promises";
import readline from "node:readline/promises";
import type { Command } from "@langchain/langgraph";
import type { Checkpointer } from "../../checkpoints/index.js";
import { listDefinitionVersions } from "../../checkpoints/enterprise_workflow/definition_versions.js";
import {
  migrateEnterpriseControls,
  PostgresEnterpriseControls,
} from "../../checkpoints/enterprise_workflow/controls.js";
import { childCatalog, compileEnterpriseWorkflow } from "../../graphs/enterprise_workflow.js";
import { otherWorkflows } from "../../graphs/registry.js";
import { ENGINE_WORKFLOW } from "../../state/enterprise_workflow/definition.js";
import { checkHierarchy, hasChildren } from "../../state/enterprise_workflow/hierarchy.js";
import {
  approvalCommand,
  ApprovalDecisionSchema,
  type ApprovalDecision,
  type PausedNotice,
} from "../../nodes/enterprise_workflow/approval.js";
import { engineServices } from "../../nodes/enterprise_workflow/services.js";
import type { ApprovalRequest, ChildQuestion } from "../../nodes/enterprise_workflow/tasks.js";
import { allSteps, type AdvancedWorkflow } from "../../state/enterprise_workflow/definition.js";
import { loadDefinitionFile, loadNamedDefinition } from "../../state/enterprise_workflow/loader.js";
import { formatAuditTrail, runSummary, type RunSummary } from "../../state/enterprise_workflow/report.js";
import type { EnterpriseInput, EnterpriseState, StepRecord } from "../../state/enterprise_workflow/state.js";
import { InputError } from "../../state/shared/errors.js";
import { checkThreadId } from "../../state/shared/thread_id.js";
import { existingSnapshot } from "../thread_state.js";
import { shellCommand } from "../shell_command.js";

/**
 * The engine as the CLI drives it: definitions from a file or by name, the engine compiled on the
 * command's database with its pause/cancel controls in that database (the embedded Postgres too),
 * progress lines per step, and approvals asked at the terminal.
 */

export type Engine = ReturnType<typeof compileEnterpriseWorkflow>;

/** A file when it names one (a path or a definition extension), else a definition name. */
export async function isDefinitionFile(target: string): Promise<boolean> {
  if (/[\\/]/.test(target) || /\.(ya?ml|json)$/i.test(target)) return true;
  return access(target).then(
    () => true,
    () => false,
  );
}

/** A named definition runs as its newest stored version (what `optimize --apply` wrote), else its file. */
export async function resolveDefinition(
  db: Pick<Checkpointer, "pool" | "schema">,
  target: string,
): Promise<AdvancedWorkflow> {
  if (await isDefinitionFile(target)) return loadDefinitionFile(target);
  const versions = await listDefinitionVersions(db.pool, db.schema, target);
  return versions[versions.length - 1]?.definition ?? loadNamedDefinition(target);
}

/**
 * The checks across definitions, before anything is saved: children that exist, no cycle between
 * definitions, the depth limit, and mappings of the child's input types. Named children load as
 * `loadNamed` says: files for validate, stored versions first for run.
 */
export async function checkChildren(
  definition: AdvancedWorkflow,
  loadNamed?: (name: string) => Promise<AdvancedWorkflow>,
): Promise<void> {
  // Loading the other workflows' graphs takes a while: only a definition that runs children pays for it.
  if (hasChildren(definition))
    await checkHierarchy(definition, childCatalog(await otherWorkflows(ENGINE_WORKFLOW), loadNamed));
}

/** The engine on the command's database: pause and cancel requests reach it from any process on the same database. */
export async function openEngine(db: Checkpointer): Promise<{ engine: Engine; controls: PostgresEnterpriseControls }> {
  await migrateEnterpriseControls(db.pool, db.schema);
  const controls = new PostgresEnterpriseControls(db.pool, db.schema);
  const services = engineServices(controls, { namedDefinition: (name) => resolveDefinition(db, name) });
  const engine = compileEnterpriseWorkflow(db.checkpointer, services, await otherWorkflows(ENGINE_WORKFLOW));
  return { engine, controls };
}

export const threadConfig = (threadId: string, model?: string) => ({
  configurable: { thread_id: checkThreadId(threadId), ...(model ? { model } : {}) },
});

/**
 * What the thread waits for, read from its head: an approval's question, a pause, a child's other
 * question (a research review), or nothing. `askedBy` lists the subworkflow steps the question came
 * up through, outermost first: answering on this thread reaches the child that asks.
 */
export type Waiting =
  | { kind: "approval"; request: ApprovalRequest; askedBy: string[] }
  | { kind: "paused"; notice: PausedNotice }
  | { kind: "child"; request: unknown; askedBy: string[] }
  | undefined;

type Question = ApprovalRequest | PausedNotice | ChildQuestion | undefined;

export async function waitingFor(engine: Engine, threadId: string): Promise<Waiting> {
  const snapshot = await engine.getState(threadConfig(threadId));
  for (const task of snapshot.tasks) {
    for (const pending of task.interrupts) {
      let value = pending.value as Question;
      const askedBy: string[] = [];
      while (value?.kind === "child") {
        askedBy.push(`${value.stepId} (${value.workflow}, ${value.mode}${value.thread ? ` on ${value.thread}` : ""})`);
        value = value.request as Question;
      }
      if (value?.kind === "approval") return { kind: "approval", request: value, askedBy };
      if (value?.kind === "paused") return { kind: "paused", notice: value };
      if (askedBy.length) return { kind: "child", request: value, askedBy };
    }
  }
  return undefined;
}

/**
 * The thread's status as a person reads it: a child's question leaves the parent's own status at
 * RUNNING (its node is the one waiting), yet the run waits for a person as at its own approvals.
 */
export const statusWhile = (status: EnterpriseState["status"], waiting: Waiting): EnterpriseState["status"] =>
  status === "RUNNING" && (waiting?.kind === "approval" || waiting?.kind === "child") ? "WAITING_APPROVAL" : status;

/** Where a question comes from: the step itself, or the chain of children down to it. */
const askedAt = (askedBy: readonly string[], stepId: string) =>
  [...askedBy.map((step) => step.split(" ")[0]), stepId].join(" › ");

/** One line per step that moved: its status, and the figures it has. */
export function stepLine(key: string, record: Partial<StepRecord>): string {
  const figures = [
    ...(record.attempts && record.attempts > 1
      ? [
          `${record.attempts} attempts${record.retryDelaysMs?.length ? ` (waited ${record.retryDelaysMs.join(", ")} ms)` : ""}`,
        ]
      : []),
    ...(record.iterations ? [`${record.iterations} iterations${record.stoppedByCap ? " (cap)" : ""}`] : []),
    ...(record.durationMs !== undefined ? [`${record.durationMs}ms`] : []),
    ...(record.reason ? [record.reason] : []),
    ...(record.error ? [record.error] : []),
  ];
  return `  ${key.padEnd(32)} ${String(record.status).padEnd(9)} ${figures.join(" · ")}`.trimEnd();
}

/** What a reviewer reads before deciding, as plain lines. */
export function approvalLines(request: ApprovalRequest, askedBy: readonly string[] = []): string[] {
  return [
    `approval at ${askedAt(askedBy, request.stepId)}: ${request.question}`,
    ...askedBy.map((step) => `  asked by the child of ${step}`),
    `  roles: ${request.approvers.join(", ") || "any"}${request.allowedUsers.length ? ` · users: ${request.allowedUsers.join(", ")}` : ""}`,
    ...(request.lastRefusal ? [`  refused: ${request.lastRefusal}`] : []),
  ];
}

export interface DriveOptions {
  line(text: string): void;
  /** Replay: the first stream forks the thread at this checkpoint. */
  checkpointId?: string;
  model?: string;
  signal?: AbortSignal;
  /** In a terminal: asks for an approval decision; undefined leaves the thread waiting. */
  decide?: (request: ApprovalRequest) => Promise<ApprovalDecision | undefined>;
}

/**
 * Streams the thread to its next stop, printing each step as it moves; at an approval, asks
 * `decide` (when given) and goes on with the answer. Returns the `--json` summary.
 */
export async function driveEngine(
  engine: Engine,
  threadId: string,
  start: EnterpriseInput | Command | null,
  options: DriveOptions,
): Promise<RunSummary> {
  const config = { ...threadConfig(threadId, options.model), ...(options.signal ? { signal: options.signal } : {}) };
  let input: EnterpriseInput | Command | null = start;
  let lastStatus = "";
  let fork = options.checkpointId;
  for (;;) {
    const at = fork ? { ...config, configurable: { ...config.configurable, checkpoint_id: fork } } : config;
    fork = undefined;
    const stream = await engine.stream(input, { ...at, streamMode: "updates" });
    for await (const chunk of stream) {
      for (const [node, update] of Object.entries(chunk as Record<string, Partial<EnterpriseState> | undefined>)) {
        if (node === "__interrupt__" || !update) continue;
        for (const [key, record] of Object.entries(update.steps ?? {})) {
          if (record.status && record.status !== "PENDING") options.line(stepLine(key, record));
        }
        if (update.status && update.status !== lastStatus && update.status !== "RUNNING")
          options.line(`workflow ${update.status}`);
        if (update.status) lastStatus = update.status;
      }
    }
    const waiting = await waitingFor(engine, threadId);
    if (waiting?.kind === "approval") {
      for (const text of approvalLines(waiting.request, waiting.askedBy)) options.line(text);
      const decision = options.decide ? await options.decide(waiting.request) : undefined;
      if (decision) {
        input = approvalCommand(decision);
        continue;
      }
    }
    if (waiting?.kind === "paused")
      options.line(
        `paused by ${waiting.notice.actor}: \`${shellCommand("orchestra", "resume", threadId)}\` continues it`,
      );
    if (waiting?.kind === "child")
      options.line(
        `a child asks: ${waiting.askedBy.join(" › ")}: answer it on this thread through the API (Command resume)`,
      );
    const snapshot = await engine.getState(threadConfig(threadId));
    const values = snapshot.values as EnterpriseState;
    return runSummary(threadId, { ...values, status: statusWhile(values.status, waiting) }, snapshot.next);
  }
}

/** The decision flags of `resume` as the engine's answer: one line naming what is missing otherwise. */
export function decisionFromFlags(flags: {
  approve?: boolean;
  reject?: boolean;
  changes?: string;
  reviewer: string;
  role?: string;
}): ApprovalDecision | undefined {
  if (!flags.approve && !flags.reject) {
    if (flags.changes !== undefined)
      throw new InputError("--changes goes with --approve: give --approve --changes JSON");
    return undefined;
  }
  if (flags.approve && flags.reject) throw new InputError("give --approve or --reject, not both");
  if (flags.reject && flags.changes !== undefined) throw new InputError("--changes goes with --approve, not --reject");
  if (!flags.role)
    throw new InputError("an engine approval needs --role: the role you decide as, e.g. --role compliance_officer");
  let changes: Record<string, unknown> | undefined;
  if (flags.changes !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(flags.changes);
    } catch {
      throw new InputError(
        `--changes is not JSON: give an object of context values, e.g. --changes '{"amount": 9000}'`,
      );
    }
    if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed))
      throw new InputError(`--changes must be a JSON object of context values, e.g. '{"amount": 9000}'`);
    changes = parsed as Record<string, unknown>;
  }
  const parsed = ApprovalDecisionSchema.safeParse({
    decision: flags.reject ? "reject" : changes ? "approve_with_changes" : "approve",
    reviewer: flags.reviewer,
    role: flags.role,
    ...(changes ? { changes } : {}),
  });
  if (!parsed.success) throw new InputError(`invalid decision: ${parsed.error.issues[0]!.message}`);
  return parsed.data;
}

/** Asks at the terminal: the decision, then the role (the reviewer's name is the --reviewer or the OS user). */
export function terminalDecider(reviewer: string, role: string | undefined) {
  return async (request: ApprovalRequest): Promise<ApprovalDecision | undefined> => {
    const rl = readline.createInterface({ input: process.stdin, output: process.stdout });
    try {
      for (;;) {
        const answer = (
          await rl.question("decision [approve / reject / changes JSON / blank to leave it waiting]: ")
        ).trim();
        if (!answer) return undefined;
        const chosen =
          answer === "approve" || answer === "reject" ? answer : answer.startsWith("{") ? "changes" : undefined;
        if (!chosen) {
          process.stdout.write("answer approve, reject, or a JSON object of changes\n");
          continue;
        }
        const asked =
          role ??
          ((
            await rl.question(`role${request.approvers.length ? ` (${request.approvers.join(" / ")})` : ""}: `)
          ).trim() ||
            undefined);
        try {
          const decision = decisionFromFlags({
            approve: chosen !== "reject",
            reject: chosen === "reject",
            ...(chosen === "changes" ? { changes: answer } : {}),
            reviewer,
            ...(asked ? { role: asked } : {}),
          });
          if (decision) return decision;
        } catch (error) {
          if (!(error instanceof InputError)) throw error;
          process.stdout.write(`${error.message}\n`);
        }
      }
    } finally {
      rl.close();
    }
  };
}

export interface EngineThreadSummary extends RunSummary {
  workflow: string;
  version: string;
  input: Record<string, unknown>;
  waitingFor: string | null;
  startTime: string | null;
  endTime: string | null;
  errors: EnterpriseState["errors"];
  auditEntries: number;
  /** The people who acted: reviewers, and operators who paused or cancelled. */
  actors: string[];
  children: ChildLine[];
}

/** A subworkflow step, or a map step and each of its children, as `show` lists it: the child it runs, how, where, and how far it got. */
export interface ChildLine {
  stepId: string;
  workflow: string;
  mode: string;
  status: string;
  thread: string | null;
}

export function childrenOf(values: Partial<EnterpriseState>): ChildLine[] {
  return allSteps(values.workflow?.steps ?? []).flatMap((step) => {
    if (!step.subworkflow) return [];
    const workflow = step.subworkflow.definition
      ? `${step.subworkflow.workflow} ${step.subworkflow.definition}`
      : step.subworkflow.workflow;
    const line = (stepId: string) => {
      const record = values.steps?.[stepId];
      return {
        stepId,
        workflow,
        mode: step.subworkflow!.mode,
        status: record?.status ?? "PENDING",
        thread: record?.thread ?? null,
      };
    };
    // A map step's line, then one per item's child.
    return [step.stepId, ...(step.stepType === "map" ? (values.steps?.[step.stepId]?.children ?? []) : [])].map(line);
  });
}

/** What `show` prints of an engine thread. */
export async function summariseEngineThread(engine: Engine, threadId: string): Promise<EngineThreadSummary> {
  const snapshot = await existingSnapshot(engine, threadId);
  const values = snapshot.values as EnterpriseState;
  const waiting = await waitingFor(engine, threadId);
  const audit = values.auditTrail ?? [];
  return {
    ...runSummary(threadId, { ...values, status: statusWhile(values.status, waiting) }, snapshot.next),
    workflow: values.workflowName ?? "enterprise_workflow",
    version: values.version ?? "",
    input: values.input ?? {},
    waitingFor:
      waiting?.kind === "approval"
        ? askedAt(waiting.askedBy, waiting.request.stepId)
        : waiting?.kind === "child"
          ? askedAt(waiting.askedBy.slice(0, -1), waiting.askedBy.at(-1)!.split(" ")[0]!)
          : waiting?.kind === "paused"
            ? "resume (paused)"
            : null,
    children: childrenOf(values),
    startTime: values.startTime ?? null,
    endTime: values.endTime ?? null,
    errors: values.errors ?? [],
    auditEntries: audit.length,
    actors: [...new Set(audit.flatMap((entry) => (entry.actor ? [entry.actor] : [])))],
  };
}

export function renderEngineSummary(summary: EngineThreadSummary): string {
  const lines = [
    `Thread ${summary.threadId} — ${summary.status}${summary.waitingFor ? ` at ${summary.waitingFor}` : ""}`,
    `Workflow: ${summary.workflow} v${summary.version} · input ${JSON.stringify(summary.input)}`,
    `Started ${summary.startTime ?? "-"}${summary.endTime ? ` · ended ${summary.endTime}` : ""}`,
    "",
    "Steps",
    ...Object.entries(summary.steps).map(([key, step]) =>
      stepLine(key, {
        ...step,
        ...(step.durationMs === null ? { durationMs: undefined } : { durationMs: step.durationMs }),
      }),
    ),
  ];
  if (summary.children.length) {
    lines.push(
      "",
      "Children",
      ...summary.children.map(
        (child) =>
          `  ${child.stepId.padEnd(32)} ${child.status.padEnd(9)} ${child.workflow} (${child.mode})${child.thread ? ` · thread ${child.thread}` : ""}`,
      ),
    );
  }
  if (summary.errors.length)
    lines.push("", "Errors", ...summary.errors.map((error) => `  ${error.stepId}: ${error.message}`));
  lines.push(
    "",
    `Audit: ${summary.auditEntries} entries${summary.actors.length ? `, actors ${summary.actors.join(", ")}` : ""} (\`${shellCommand("orchestra", "audit", summary.threadId)}\` prints them)`,
  );
  if (summary.status === "WAITING_APPROVAL")
    lines.push(
      `Waiting for approval: ${shellCommand("orchestra", "resume", summary.threadId)} --approve | --reject --reviewer NAME --role ROLE`,
    );
  if (summary.status === "PAUSED")
    lines.push(`Paused: \`${shellCommand("orchestra", "resume", summary.threadId)}\` continues it`);
  return lines.join("\n");
}

/** The audit trail of a thread, for `orchestra audit` and `show`. */
export async function auditOf(engine: Engine, threadId: string): Promise<EnterpriseState["auditTrail"]> {
  const snapshot = await existingSnapshot(engine, threadId);
  return (snapshot.values as Partial<EnterpriseState>).auditTrail ?? [];
}

export { formatAuditTrail };
