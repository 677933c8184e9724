import { createHash } from "node:crypto";
import {
  appendDefinitionVersions,
  listDefinitionVersions,
  type DefinitionVersion,
} from "../../checkpoints/enterprise_workflow/definition_versions.js";
import {
  applyRecommendations,
  diffDefinitions,
  shapeOfDefinition,
} from "../../nodes/enterprise_workflow/optimizer/apply.js";
import { isApplicable, optimize, type DefinitionChange, type RunObservation } from "../optimizer_analysis.js";
import { allSteps, type AdvancedWorkflow } from "../../state/enterprise_workflow/definition.js";
import { listNamedDefinitions, loadNamedDefinition } from "../../state/enterprise_workflow/loader.js";
import type { StepRecord } from "../../state/enterprise_workflow/state.js";
import { InputError } from "../../state/shared/errors.js";
import { push, type MetricsDatabase, type RunSample, type StepSample } from "../collector.js";
import type { OptimizeResult, WorkflowVariants } from "../variants.js";
import { shellCommand } from "../../scripts/shell_command.js";

/**
 * The engine's named definitions as the metrics and the optimizer see them: each is measured as a
 * workflow of its own from its runs' step records, and optimized into a new stored version.
 */

const TIMEOUT_ERROR = /timed? ?out|timeout|deadline/i;
const fingerprint = (value: unknown) =>
  createHash("sha256")
    .update(JSON.stringify(value ?? null))
    .digest("hex")
    .slice(0, 16);

/** An engine thread: its steps' own records, which know attempts, errors and start and end times. */
function engineSample(values: Record<string, unknown>): RunSample | undefined {
  if (typeof values.workflowName !== "string" || !values.workflow) return undefined;
  const workflow = values.workflow as AdvancedWorkflow;
  const records = (values.steps ?? {}) as Record<string, StepRecord>;
  const results = (values.intermediateResults ?? {}) as Record<string, unknown>;
  const definitionSteps = new Map(allSteps(workflow.steps).map((step) => [step.stepId, step]));
  const status = String(values.status ?? "");
  const finished = ["COMPLETED", "FAILED", "CANCELLED", "TIMEOUT"].includes(status);
  const steps = new Map<string, StepSample[]>();
  const observation: RunObservation = { wallMs: 0, steps: {} };
  let approvalMs = 0;
  for (const [key, record] of Object.entries(records)) {
    const stepId = key.split("#")[0]!;
    const step = definitionSteps.get(stepId);
    if (!step || !["COMPLETED", "FAILED"].includes(record.status)) continue;
    const waitsForPerson = step.stepType === "human_approval";
    if (waitsForPerson) approvalMs += record.durationMs ?? 0;
    const callsModel = step.action !== undefined && ("llm" in step.action || "react" in step.action);
    const attempts = record.attempts ?? 1;
    push(steps, stepId, {
      ...(waitsForPerson || record.durationMs === undefined ? {} : { durationMs: record.durationMs }),
      ok: record.status === "COMPLETED",
      retries: Math.max(0, attempts - 1),
      timedOut: record.status === "FAILED" && TIMEOUT_ERROR.test(record.error ?? ""),
      modelCalls: callsModel ? attempts : 0,
      reviewWait: waitsForPerson,
    });
    if (record.startedAt && record.finishedAt && !key.includes("#")) {
      const inputs = { input: values.input, results: step.dependencies.map((id) => results[id] ?? null) };
      observation.steps[stepId] = {
        startedAt: Date.parse(record.startedAt),
        finishedAt: Date.parse(record.finishedAt),
        ...(record.durationMs === undefined ? {} : { durationMs: record.durationMs }),
        inputKey: fingerprint(inputs),
        outputKey: fingerprint(results[stepId]),
      };
    }
  }
  const start = typeof values.startTime === "string" ? Date.parse(values.startTime) : NaN;
  const end = typeof values.endTime === "string" ? Date.parse(values.endTime) : NaN;
  const wallMs = finished && Number.isFinite(start) && Number.isFinite(end) ? end - start - approvalMs : undefined;
  if (wallMs !== undefined) observation.wallMs = wallMs;
  return {
    workflow: workflow.name,
    finished,
    failed: status !== "COMPLETED" && finished,
    ...(wallMs === undefined ? {} : { wallMs }),
    steps,
    ...(finished ? { observation } : {}),
  };
}

/** The newest stored version, else the definition file as version 1 (not stored until a change is applied). */
export async function currentDefinition(
  db: MetricsDatabase,
  name: string,
): Promise<{ definition: AdvancedWorkflow; version: number; stored: boolean }> {
  const versions = await listDefinitionVersions(db.pool, db.schema, name);
  const latest = versions[versions.length - 1];
  if (latest) return { definition: latest.definition, version: latest.version, stored: true };
  return { definition: await loadNamedDefinition(name), version: 1, stored: false };
}

export const enterpriseVariants: WorkflowVariants = {
  names: async () => (await listNamedDefinitions()).map((d) => d.name),
  check: async (name) => {
    await loadNamedDefinition(name);
  },
  sample: engineSample,
  async optimize(db, name, measured, apply): Promise<OptimizeResult> {
    const current = await currentDefinition(db, name);
    const report = optimize(shapeOfDefinition(current.definition), measured.figures, measured.runs);
    const result: OptimizeResult = { ...report, version: current.version };
    if (!apply) return result;
    const applicable = report.recommendations.filter(isApplicable);
    if (!applicable.length)
      throw new InputError(
        `nothing to apply to ${name}: no applicable recommendation from ${report.runs} measured runs; run it more, then optimize again`,
      );
    const next = applyRecommendations(current.definition, applicable);
    const appended: { definition: AdvancedWorkflow; note: string }[] = [
      ...(current.stored
        ? []
        : [{ definition: current.definition, note: "the definition file, before the first change" }]),
      { definition: next, note: `applied ${applicable.map((r) => r.id).join(", ")}` },
    ];
    const saved = await appendDefinitionVersions(db.pool, db.schema, name, appended);
    const written = saved[saved.length - 1]!;
    return {
      ...result,
      applied: {
        version: written.version,
        changes: diffDefinitions(saved[saved.length - 2]?.definition ?? current.definition, written.definition),
        recommendations: applicable.map((r) => r.id),
      },
    };
  },
};

export interface DiffOptions {
  workflow: string;
  /** Default: the version before `to`. */
  from?: number;
  /** Default: the newest. */
  to?: number;
}

export interface DiffResult {
  workflow: string;
  from: number;
  to: number;
  changes: DefinitionChange[];
}

/** `orchestra workflow diff NAME [FROM] [TO]`: what changed between two stored versions. */
export async function diffWorkflowVersions(db: MetricsDatabase, options: DiffOptions): Promise<DiffResult> {
  const versions = await listDefinitionVersions(db.pool, db.schema, options.workflow);
  if (versions.length < 2 && options.from === undefined) {
    throw new InputError(
      `${options.workflow} has ${versions.length ? "one version" : "no stored versions"}: \`${shellCommand("orchestra", "optimize", options.workflow)} --apply\` writes the next`,
    );
  }
  const find = (version: number): DefinitionVersion => {
    const found = versions.find((v) => v.version === version);
    if (!found)
      throw new InputError(
        `${options.workflow} has no version ${version}: its versions are ${versions.map((v) => v.version).join(", ") || "none"}`,
      );
    return found;
  };
  const to = find(options.to ?? versions[versions.length - 1]!.version);
  const from = find(options.from ?? to.version - 1);
  return {
    workflow: options.workflow,
    from: from.version,
    to: to.version,
    changes: diffDefinitions(from.definition, to.definition),
  };
}
