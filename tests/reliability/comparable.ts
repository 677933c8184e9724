import { expect } from "vitest";
import type { WorkflowStateType } from "../../state/parallel_workflow/workflow.js";

/** Timestamps, ids, and figures measured from the clock or the machine's load. */
const VARYING = new Set([
  "at",
  "completedAt",
  "integratedAt",
  "mergedAt",
  "startedAt",
  "id",
  "workflowId",
  "executionTime",
  "throughput",
  "resourceUtilization",
  "cpuShare",
  "cpuHeadroom",
  "seconds",
  "durationSeconds",
]);

/** The report's lines, figures masked, in a fixed order. */
const reportLines = (report: string) =>
  report
    .split("\n")
    .map((line) => line.replace(/\d+(\.\d+)?/g, "#"))
    .sort();

function strip(value: unknown): unknown {
  // The report travels twice: as finalReport and as the integrator's closing message.
  if (typeof value === "string" && value.startsWith("# Workflow report")) return reportLines(value);
  if (Array.isArray(value)) return value.map(strip);
  if (value && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([key]) => !VARYING.has(key))
        .map(([key, v]) => [key, strip(v)]),
    );
  }
  return value;
}

/**
 * A thread's final state as two runs of the same input must agree on it: timings and ids aside.
 * The merge weighs each branch by its seconds too, so the report's attribution table may order
 * two near-equal branches either way and its figures move in the last digits: the report is
 * compared line by line, figures masked.
 */
export function comparableState(state: WorkflowStateType): unknown {
  return strip(JSON.parse(JSON.stringify(state)));
}

/** `value` with every number replaced by a matcher for it to two decimals: timing-weighted scores vary further down. */
export function approximately(value: unknown): unknown {
  if (typeof value === "number") return expect.closeTo(value, 2);
  if (Array.isArray(value)) return value.map(approximately);
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([key, v]) => [key, approximately(v)]));
  }
  return value;
}
