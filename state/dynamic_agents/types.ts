import { z } from "zod";
import { BranchFindingsSchema } from "../shared/findings.js";
import { MAX_TASKS, MAX_TASK_CHARS } from "../shared/tasks.js";
import { InputError } from "../shared/errors.js";
import {
  BranchTimeoutMsSettingSchema,
  MaxConcurrencySettingSchema,
  ModelSettingSchema,
  QualityThresholdSettingSchema,
  ReviewSettingSchema,
} from "../shared/settings.js";
import { SourcesSettingsSchema } from "../shared/sources.js";

/**
 * The dynamic-agents workflow's types. Everything here lives in the graph state, so every
 * type is plain JSON described by zod: a thread resumed in another process reads it back whole.
 */

export const AGENT_CAPABILITIES = [
  "research",
  "analysis",
  "synthesis",
  "validation",
  "monitoring",
  "coordination",
] as const;
export const AgentCapabilitySchema = z.enum(AGENT_CAPABILITIES, {
  error: (issue) => `unknown capability ${JSON.stringify(issue.input)}; use one of ${AGENT_CAPABILITIES.join(", ")}`,
});
export type AgentCapability = z.infer<typeof AgentCapabilitySchema>;

/** An agent's time limit and quality bar when its requirement names none. */
export const DEFAULT_TIMEOUT_SECONDS = 300;
export const DEFAULT_QUALITY_THRESHOLD = 0.8;

/** The longest time limit a task may ask for: a day. */
export const MAX_DEADLINE_SECONDS = 86_400;

/** A task of the queue agent_generator reads. `deadline` is the task's time limit in seconds. */
export const DynamicTaskSchema = z
  .object({
    description: z.string().trim().min(1, "must not be empty").max(MAX_TASK_CHARS),
    type: AgentCapabilitySchema.optional(),
    /** Capabilities one agent must have for this task; without them the task type's rule applies. */
    capabilities: z.array(AgentCapabilitySchema).min(1).max(AGENT_CAPABILITIES.length).optional(),
    domain: z.string().trim().min(1).max(200).optional(),
    complexity: z.number().min(0).max(1).optional(),
    deadline: z
      .number()
      .positive("must be a positive number of seconds")
      .max(MAX_DEADLINE_SECONDS, `must be at most ${MAX_DEADLINE_SECONDS} seconds`)
      .optional(),
    analysisType: z.string().trim().min(1).max(200).optional(),
    confidence: z.number().gt(0).lt(1).optional(),
    preferredSources: z.array(z.string().trim().min(1).max(200)).max(20).optional(),
    verifyFacts: z.boolean().optional(),
  })
  .strict();
export type DynamicTask = z.infer<typeof DynamicTaskSchema>;

/** The input's shape, as the messages for a task file of another shape name it. */
const INPUT_SHAPE = '{"taskQueue": [{"description": "...", "type": "research"}, ...]}';

/**
 * The CLI and the server map a bare list to `{taskQueue}` first (the workflow's input mapping,
 * docs/decisions/0037-one-task-file-shape.md); given to the graph directly, a bare list is refused
 * with the shape to use.
 */
export const DynamicAgentsInputSchema = z
  .object(
    {
      taskQueue: z
        .array(DynamicTaskSchema, {
          error: (issue) => (issue.input === undefined ? `is missing: give ${INPUT_SHAPE}` : undefined),
        })
        .min(1, "must hold at least one task")
        .max(MAX_TASKS, `must hold at most ${MAX_TASKS} tasks`),
      settings: z.record(z.string(), z.unknown()).optional(),
    },
    {
      error: (issue) =>
        issue.code === "invalid_type" && Array.isArray(issue.input)
          ? `expected ${INPUT_SHAPE}, not a bare list: put the list under "taskQueue"`
          : undefined,
    },
  )
  .strict();
export type DynamicAgentsInput = z.input<typeof DynamicAgentsInputSchema>;

/** Validates a task file's content; throws InputError with one line naming the first problem and the field. */
export function parseDynamicAgentsInput(raw: unknown): DynamicTask[] {
  const parsed = DynamicAgentsInputSchema.safeParse(raw);
  if (parsed.success) return parsed.data.taskQueue;
  const issue = parsed.error.issues[0]!;
  const where = issue.path.length ? issue.path.join(".") : "input";
  throw new InputError(`invalid task queue: ${where}: ${issue.message}`);
}

/** What the pool holds and what an agent reserves from it. */
export const ResourcesSchema = z.object({
  slots: z.number().int().min(0),
  memoryMb: z.number().int().min(0),
  tokens: z.number().int().min(0),
});
export type Resources = z.infer<typeof ResourcesSchema>;

/** The settings the workflow runs under; the model and the slots are the shared settings. */
export const DynamicAgentsSettingsSchema = z.object({
  model: ModelSettingSchema,
  maxConcurrency: MaxConcurrencySettingSchema,
  agentMemoryMb: z
    .number()
    .int()
    .min(256)
    .max(1_048_576)
    .default(8192)
    .describe("Memory the agents may reserve in all"),
  agentTokenBudget: z
    .number()
    .int()
    .min(1000)
    .max(100_000_000)
    .default(200_000)
    .describe("Model tokens the agents may reserve in all"),
  review: ReviewSettingSchema,
  qualityThreshold: QualityThresholdSettingSchema,
  /** The merge's and the judge's model calls are cut off after this long; agents have their own timeouts. */
  branchTimeoutMs: BranchTimeoutMsSettingSchema,
  ...SourcesSettingsSchema.shape,
});
export type DynamicAgentsSettings = z.infer<typeof DynamicAgentsSettingsSchema>;
const SETTINGS_KEYS = Object.keys(DynamicAgentsSettingsSchema.shape);

/**
 * The settings from a run's config (`configurable`, then `context` key by key) or from the
 * settings the input carried, defaults filled in. Throws InputError naming the bad key.
 */
export function dynamicAgentsSettings(config: {
  configurable?: Record<string, unknown>;
  context?: unknown;
}): DynamicAgentsSettings {
  const given = (source: unknown) =>
    Object.fromEntries(
      Object.entries(source !== null && typeof source === "object" ? source : {}).filter(
        ([key, value]) => SETTINGS_KEYS.includes(key) && value !== undefined && value !== null,
      ),
    );
  const parsed = DynamicAgentsSettingsSchema.safeParse({ ...given(config.configurable), ...given(config.context) });
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  throw new InputError(`invalid configuration: ${issue.path.join(".")}: ${issue.message}`);
}

/** One agent the task queue calls for, in the derivation's terms (docs/design.md's requirement table, camel-cased). */
export const AgentRequirementSchema = z.object({
  index: z.number().int().min(0),
  taskDescription: z.string(),
  capabilitiesNeeded: z.array(AgentCapabilitySchema).min(1),
  domain: z.string().optional(),
  detailLevel: z.string().optional(),
  preferredSources: z.array(z.string()).optional(),
  verifyFacts: z.boolean().optional(),
  methodology: z.string().optional(),
  confidenceLevel: z.number().optional(),
  timeLimitSeconds: z.number().positive().optional(),
  agentCount: z.number().int().min(1).optional(),
  coordinationComplexity: z.string().optional(),
});
export type AgentRequirement = z.infer<typeof AgentRequirementSchema>;

export const AgentSpecificationSchema = z.object({
  agentType: z.string(),
  capabilities: z.array(AgentCapabilitySchema),
  resourceRequirements: ResourcesSchema,
  performanceTargets: z.record(z.string(), z.number()),
  specializationParameters: z.record(z.string(), z.unknown()),
  maxConcurrentTasks: z.number().int().min(1).default(3),
  timeoutSeconds: z.number().positive().default(DEFAULT_TIMEOUT_SECONDS),
  retryAttempts: z.number().int().min(0).default(3),
  qualityThresholds: z.record(z.string(), z.number()).default({}),
  monitoringEnabled: z.boolean().default(true),
});
export type AgentSpecification = z.infer<typeof AgentSpecificationSchema>;

export const AGENT_ERROR_KINDS = [
  "ResourceUnavailableError",
  "AgentCreationError",
  "NoSuitableAgentError",
  "UnknownAgentTypeError",
  "AgentRunError",
  "AgentTimeoutError",
] as const;
export const AgentErrorSchema = z.object({ kind: z.enum(AGENT_ERROR_KINDS), message: z.string() });
/** A failure kept in the state as data: the run goes on with the other agents. */
export type AgentError = z.infer<typeof AgentErrorSchema>;

export const ScoreSchema = z.object({
  agentType: z.string(),
  score: z.number(),
  capabilityMatch: z.number(),
  successRate: z.number(),
  resourceEfficiency: z.number(),
});
export type CandidateScore = z.infer<typeof ScoreSchema>;

/** An agent as agent_generator left it: chosen, instantiated (sent to run), or refused with an error. */
export const AgentRecordSchema = z.object({
  agentId: z.string(),
  requirement: AgentRequirementSchema,
  /** Candidates best first; empty when no template covers the requirement. */
  candidates: z.array(ScoreSchema),
  specification: AgentSpecificationSchema.optional(),
  status: z.enum(["instantiated", "deferred", "refused"]),
  error: AgentErrorSchema.optional(),
});
export type AgentRecord = z.infer<typeof AgentRecordSchema>;

/** What one agent run produced: findings in the research workflow's branch-result shape. */
export const AgentResultSchema = z.object({
  agentId: z.string(),
  agentType: z.string(),
  capabilities: z.array(AgentCapabilitySchema),
  status: z.enum(["success", "failed"]),
  results: BranchFindingsSchema.optional(),
  error: AgentErrorSchema.optional(),
  timedOut: z.boolean().optional(),
  /** Attempts made, the first included. */
  attempt: z.number().int().min(0),
  modelCalls: z.number().int().min(0),
  performance: z.object({
    /** Seconds. */
    executionTime: z.number(),
    /** Tokens used over tokens reserved. */
    resourceUtilization: z.number(),
    dataQualityScore: z.number(),
    /** Findings per second. */
    throughput: z.number(),
    /** Tool calls the agent made reading its sources; absent when it had none. */
    toolCalls: z.number().int().min(0).optional(),
  }),
  resources: z.object({ reserved: ResourcesSchema, tokensUsed: z.number().int().min(0) }),
  meetsQualityThreshold: z.boolean(),
  startedAt: z.string(),
  completedAt: z.string(),
});
export type AgentResult = z.infer<typeof AgentResultSchema>;

export const LedgerEntrySchema = z.object({
  agentId: z.string(),
  kind: z.enum(["allocate", "release"]),
  resources: ResourcesSchema,
});
export type LedgerEntry = z.infer<typeof LedgerEntrySchema>;
