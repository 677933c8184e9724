import { InputError } from "../shared/errors.js";
import type { WorkflowSummary } from "../shared/workflow_definition.js";
import { checkDefinition } from "./loader.js";
import { EnterpriseInputSchema, type EnterpriseState } from "./state.js";

/** Refuses, with one line, an input the engine would refuse: a bad shape or a given definition that does not check. */
export function checkEnterpriseRequest(input: unknown): void {
  if (input === null || input === undefined) return;
  const parsed = EnterpriseInputSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new InputError(`invalid input: ${issue.path.join(".") || "(root)"}: ${issue.message}`);
  }
  // A stored definition is named by a string, checked when the run loads it.
  if (typeof parsed.data.definition !== "string") checkDefinition(parsed.data.definition);
}

/** An engine thread's standing: its status word; the engine scores nothing and reports through its audit trail. */
export function summariseEnterprise(values: Partial<EnterpriseState>): WorkflowSummary {
  return { status: values.status ?? "INITIALIZING", qualityScore: null, report: null };
}
