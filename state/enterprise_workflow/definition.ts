import { z } from "zod";
import { OnFailureSchema, type OnFailure } from "./escalation.js";
import { MapSpecSchema, type MapSpec } from "./fanout.js";
import { TriggerSchema } from "../shared/triggers.js";
import { WaitEventSchema, type WaitEvent } from "./wait_event.js";

/** The step types a definition may name, spelled in lower or upper case. */
export const STEP_TYPES = [
  "sequential",
  "parallel",
  "conditional",
  "loop",
  "react",
  "human_approval",
  "orchestrator",
  "worker",
  "webhook",
  "rollback",
  "subworkflow",
  "map",
  "wait_event",
] as const;
export type StepType = (typeof STEP_TYPES)[number];

/** Step types whose work is an action the step runs itself. */
export const ACTION_STEP_TYPES: readonly StepType[] = ["sequential", "conditional", "loop", "react", "worker"];

/** The tools a react action may name. */
export const REACT_TOOLS = ["calculator", "context_lookup"] as const;

const stepType = z
  .string()
  .transform((type) => type.toLowerCase())
  .pipe(
    z.enum(STEP_TYPES, {
      error: (issue) => `unknown stepType '${String(issue.input)}'; use one of ${STEP_TYPES.join(", ")}`,
    }),
  );

const expression = z.string().trim().min(1, "must not be empty");

/** A JSON Schema object for an llm action's structured output. */
const JsonSchemaObject = z.record(z.string(), z.unknown());

export const LlmActionSchema = z
  .object({
    llm: z.string().trim().min(1, "the llm prompt must not be empty"),
    outputSchema: JsonSchemaObject.optional(),
  })
  .strict();

export const SetActionSchema = z.object({ set: z.record(z.string().min(1), expression) }).strict();

export const ReactActionSchema = z
  .object({
    react: z
      .object({
        prompt: z.string().trim().min(1),
        tools: z.array(z.enum(REACT_TOOLS)).default([...REACT_TOOLS]),
        maxSteps: z.number().int().min(1).max(25).default(6),
      })
      .strict(),
  })
  .strict();

/** `${env:NAME}`: a value read from the environment when the request is sent, never stored resolved. */
export const ENV_REFERENCE = /\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}/g;

export const WebhookActionSchema = z
  .object({
    webhook: z
      .object({
        /** A URL; may hold `{{placeholders}}` from the context and `${env:NAME}` references. */
        endpoint: z.string().trim().min(1, "the webhook needs an endpoint URL"),
        method: z.enum(["POST", "PUT", "PATCH", "DELETE"]).default("POST"),
        /** Header values may hold `${env:NAME}` references: secrets stay in the environment. */
        headers: z
          .record(z.string().regex(/^[A-Za-z0-9-]+$/, "header names hold letters, digits and -"), z.string())
          .default({}),
        /** Body field → CEL expression over the context; none sends the whole context. */
        payload: z.record(z.string().min(1), expression).optional(),
      })
      .strict(),
  })
  .strict();

export const ActionSchema = z.union([LlmActionSchema, SetActionSchema, ReactActionSchema, WebhookActionSchema], {
  error: () =>
    'unknown action; use {llm: "prompt"}, {set: {key: "expression"}}, {react: {prompt, tools}} or {webhook: {endpoint}}',
});
export type Action = z.infer<typeof ActionSchema>;
export type LlmAction = z.infer<typeof LlmActionSchema>;
export type ReactAction = z.infer<typeof ReactActionSchema>;
export type WebhookAction = z.infer<typeof WebhookActionSchema>;

/** Error handlers and compensations: an action, or a bare instruction for the model (`{llm: text}`). */
export const RecoveryActionSchema = z.union([
  z
    .string()
    .trim()
    .min(1)
    .transform((llm): Action => ({ llm })),
  ActionSchema,
]);

/** Given fields only: a step's policy falls back field by field to the workflow's, then to the defaults. */
export const RetryPolicySchema = z
  .object({
    /** Total attempts, the first included. */
    maxAttempts: z.number().int().min(1).max(20),
    backoff: z
      .object({
        initialDelayMs: z.number().int().min(0).max(600_000),
        maxDelayMs: z.number().int().min(0).max(3_600_000),
      })
      .partial()
      .strict(),
    continueOnFailure: z.boolean(),
    parallelFailureThreshold: z.number().min(0).max(1),
  })
  .partial()
  .strict();
export type RetryPolicyInput = z.infer<typeof RetryPolicySchema>;

export interface RetryPolicy {
  maxAttempts: number;
  backoff: { initialDelayMs: number; maxDelayMs: number };
  continueOnFailure: boolean;
  parallelFailureThreshold: number;
}

/**
 * Three attempts: a transient fault (a dropped connection, a 503, a model's rate limit) mostly
 * clears within two retries, and a step's rollback costs more than two short waits.
 */
export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 3,
  backoff: { initialDelayMs: 100, maxDelayMs: 10_000 },
  continueOnFailure: false,
  parallelFailureThreshold: 0.5,
};

/** How a child workflow runs: in the parent's thread as a subgraph, or on a thread of its own. */
export const CHILD_MODES = ["inline", "detached"] as const;
export type ChildMode = (typeof CHILD_MODES)[number];

/** The engine's own name in the registry: a child of this workflow runs a named definition. */
export const ENGINE_WORKFLOW = "enterprise_workflow";

/** Nesting deeper than this is refused when the definition loads: the parent counts as level 1. */
export const MAX_SUBWORKFLOW_DEPTH = 5;

/**
 * The child a subworkflow step runs: a registered workflow by name (`parallel_workflow`,
 * `dynamic_agents`), or the engine running a named definition (`definition`).
 */
export const SubworkflowSchema = z
  .object({
    workflow: z.string().trim().min(1).default(ENGINE_WORKFLOW),
    definition: z.string().trim().min(1).optional(),
    mode: z.enum(CHILD_MODES, { error: () => `mode must be ${CHILD_MODES.join(" or ")}` }).default("inline"),
  })
  .strict();
export type Subworkflow = z.infer<typeof SubworkflowSchema>;

export interface WorkflowStep {
  stepId: string;
  name: string;
  stepType: StepType;
  action?: Action;
  dependencies: string[];
  /** The step runs when any of them holds; none means always. */
  conditions: string[];
  parallelSteps: WorkflowStep[];
  maxConcurrent?: number;
  loopCondition?: string;
  loopMaxIterations: number;
  timeoutSeconds: number;
  retryPolicy: RetryPolicyInput;
  /** Name → expression over the context: extra values the step's prompt and expressions see. */
  inputMapping: Record<string, string>;
  /** Context key → expression over the context and the step's `output`. */
  outputMapping: Record<string, string>;
  /** Compensations: run in reverse completion order when the workflow rolls back. */
  rollbackActions: Action[];
  /** Run when the step fails, before the workflow decides whether it can go on. */
  errorHandlers: Action[];
  /** human_approval: the roles that may decide; none means any role. */
  approvers: string[];
  /** human_approval: the approval is asked for when any holds; none means always. */
  requiredFor: string[];
  /** subworkflow: the child it runs; inputMapping builds the child's input, outputMapping reads its `output`. */
  subworkflow?: Subworkflow;
  /** map: the list to fan out over; each item runs `subworkflow` as a child. */
  map?: MapSpec;
  /** After the retry policy gave up: run the step again, fail the run, or hand over to another step. */
  onFailure?: OnFailure;
  /** wait_event: the event it waits for (state/enterprise_workflow/wait_event.ts). */
  waitEvent?: WaitEvent;
}

const stepId = z
  .string()
  .regex(
    /^[A-Za-z_][A-Za-z0-9_.-]{0,99}$/,
    "stepId must start with a letter or _ and hold only letters, digits, _ . -",
  );

export const WorkflowStepSchema: z.ZodType<WorkflowStep, unknown> = z.lazy(() =>
  z
    .object({
      stepId,
      name: z.string().optional(),
      stepType,
      action: ActionSchema.optional(),
      dependencies: z.array(z.string()).default([]),
      conditions: z.array(expression).default([]),
      parallelSteps: z.array(WorkflowStepSchema).default([]),
      maxConcurrent: z.number().int().min(1).max(1000).optional(),
      loopCondition: expression.optional(),
      loopMaxIterations: z.number().int().min(1).max(10_000).default(100),
      timeoutSeconds: z.number().positive().max(86_400).default(300),
      retryPolicy: RetryPolicySchema.default({}),
      inputMapping: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), expression).default({}),
      outputMapping: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), expression).default({}),
      rollbackActions: z.array(RecoveryActionSchema).default([]),
      errorHandlers: z.array(RecoveryActionSchema).default([]),
      approvers: z.array(z.string().trim().min(1)).default([]),
      requiredFor: z.array(expression).default([]),
      subworkflow: SubworkflowSchema.optional(),
      map: MapSpecSchema.optional(),
      onFailure: OnFailureSchema.optional(),
      waitEvent: WaitEventSchema.optional(),
    })
    .strict()
    .transform((step) => ({ ...step, name: step.name ?? step.stepId })),
);

/** A service level: the longest a run (or a step) may take. */
export const SlaTargetSchema = z
  .object({
    maxDurationSeconds: z
      .number()
      .positive()
      .max(30 * 86_400)
      .optional(),
  })
  .strict();

/** The workflow's own targets, and each step's by step id. */
export const SlaTargetsSchema = SlaTargetSchema.extend({
  steps: z.record(z.string(), SlaTargetSchema).default({}),
}).strict();
export type SlaTargets = z.infer<typeof SlaTargetsSchema>;

export const AdvancedWorkflowSchema = z
  .object({
    name: z.string().trim().min(1),
    description: z.string().default(""),
    version: z.union([z.string(), z.number()]).transform(String).default("1.0"),
    steps: z.array(WorkflowStepSchema).min(1, "a workflow needs at least one step"),
    globalVariables: z.record(z.string(), z.unknown()).default({}),
    timeoutSeconds: z
      .number()
      .positive()
      .max(30 * 86_400)
      .default(3600),
    maxParallelSteps: z.number().int().min(1).max(1000).default(10),
    retryPolicy: RetryPolicySchema.default({}),
    slaTargets: SlaTargetsSchema.default({ steps: {} }),
    tags: z.array(z.string()).default([]),
    /** Who may decide approvals; none means anyone holding the step's role. */
    allowedUsers: z.array(z.string().trim().min(1)).default([]),
    /** Events that start this workflow or signal its waiting threads (docs/events.md). */
    triggers: z.array(TriggerSchema).default([]),
  })
  .strict();
export type AdvancedWorkflow = z.infer<typeof AdvancedWorkflowSchema>;

/** The policy a step runs under: its own fields, else the workflow's, else the defaults. */
export function effectiveRetryPolicy(
  workflow: Pick<AdvancedWorkflow, "retryPolicy">,
  step: Pick<WorkflowStep, "retryPolicy">,
): RetryPolicy {
  const given = { ...workflow.retryPolicy, ...step.retryPolicy };
  return {
    maxAttempts: given.maxAttempts ?? DEFAULT_RETRY_POLICY.maxAttempts,
    backoff: { ...DEFAULT_RETRY_POLICY.backoff, ...workflow.retryPolicy.backoff, ...step.retryPolicy.backoff },
    continueOnFailure: given.continueOnFailure ?? DEFAULT_RETRY_POLICY.continueOnFailure,
    parallelFailureThreshold: given.parallelFailureThreshold ?? DEFAULT_RETRY_POLICY.parallelFailureThreshold,
  };
}

/** Every step of the definition, nested children included, parents before their children. */
export function allSteps(steps: readonly WorkflowStep[]): WorkflowStep[] {
  return steps.flatMap((step) => [step, ...allSteps(step.parallelSteps)]);
}
