import { z } from "zod";
import { InputError } from "../shared/errors.js";
import {
  AgentCapabilitySchema,
  DEFAULT_QUALITY_THRESHOLD,
  DEFAULT_TIMEOUT_SECONDS,
  type AgentCapability,
  type AgentRequirement,
} from "./types.js";

/**
 * An agent template: the capabilities it covers, the role it plays in its prompt, what one of
 * its agents reserves from the pool, and how it specialises for a requirement.
 */
export interface AgentTemplate {
  agentType: string;
  capabilities: readonly AgentCapability[];
  role: string;
  /** Reserved per agent; an agent needing fewer tokens than this wastes the rest. */
  memoryMb: number;
  tokens: number;
  /** How many of its agents one run may have working at once; the specification's default (3) when absent. */
  maxConcurrentTasks?: number;
  /** Whether its agents' timings and errors are recorded for `orchestra agents`; on when absent. */
  monitoringEnabled?: boolean;
  specialise(requirement: AgentRequirement): Record<string, unknown>;
}

export type TemplateRegistry = Readonly<Record<string, AgentTemplate>>;

/** Applied to every template, after its own parameters. */
function performanceParameters(requirement: AgentRequirement): Record<string, unknown> {
  return {
    quality_threshold: DEFAULT_QUALITY_THRESHOLD,
    response_time_target: requirement.timeLimitSeconds ?? DEFAULT_TIMEOUT_SECONDS,
    iteration_limit: 3,
  };
}

const research: AgentTemplate = {
  agentType: "research_specialist",
  capabilities: ["research"],
  role: "You are a research specialist. Gather facts on the task, name where each comes from, and check them.",
  memoryMb: 1024,
  tokens: 8000,
  specialise: (r) => ({
    research_focus: r.domain ?? "general",
    depth_level: r.detailLevel ?? "standard",
    data_sources: r.preferredSources ?? [],
    fact_checking_enabled: r.verifyFacts ?? true,
  }),
};

const analysis: AgentTemplate = {
  agentType: "analysis_specialist",
  capabilities: ["analysis"],
  role: "You are an analysis specialist. Apply the stated methodology, quantify what you can, and state your confidence.",
  memoryMb: 1024,
  tokens: 6000,
  specialise: (r) => ({
    analysis_framework: r.methodology ?? "comprehensive",
    statistical_methods: [],
    visualization_preferences: [],
    confidence_intervals: r.confidenceLevel ?? 0.95,
  }),
};

const synthesis: AgentTemplate = {
  agentType: "synthesis_specialist",
  capabilities: ["synthesis"],
  role: "You are a synthesis specialist. Turn the material into a concise account for an expert audience, with citations.",
  memoryMb: 512,
  tokens: 6000,
  specialise: () => ({
    synthesis_style: "executive",
    audience_level: "expert",
    length_target: "medium",
    citation_style: "apa",
  }),
};

/** No template of the original three covers coordination, which the coordinator requirement needs. */
const coordination: AgentTemplate = {
  agentType: "coordination_specialist",
  capabilities: ["coordination"],
  role: "You are a coordination specialist. Combine the other agents' outputs into one consistent set of findings, naming which agent each rests on.",
  memoryMb: 512,
  tokens: 4000,
  specialise: (r) => ({
    agent_count: r.agentCount ?? 0,
    coordination_complexity: r.coordinationComplexity ?? "standard",
  }),
};

export const AGENT_TEMPLATES: TemplateRegistry = Object.fromEntries(
  [research, analysis, synthesis, coordination].map((template) => [template.agentType, template]),
);

/** A template's parameters for a requirement: its own, then the performance parameters every agent gets. */
export function specializationParameters(
  template: AgentTemplate,
  requirement: AgentRequirement,
): Record<string, unknown> {
  return { ...template.specialise(requirement), ...performanceParameters(requirement) };
}

/**
 * A template registered from a file (`orchestra agents add FILE`). A file carries no code, so its
 * specialisation parameters are fixed; the performance parameters are added as for every template.
 */
export const TemplateFileSchema = z
  .object({
    agentType: z
      .string()
      .regex(/^[a-z][a-z0-9_]{0,62}$/, "must be lower-case letters, digits and _, starting with a letter"),
    capabilities: z.array(AgentCapabilitySchema).min(1, "must name at least one capability"),
    role: z.string().trim().min(1, "must not be empty").max(4000),
    memoryMb: z.number().int().min(1).max(1_048_576),
    tokens: z.number().int().min(1).max(100_000_000),
    maxConcurrentTasks: z.number().int().min(1).max(100).optional(),
    monitoringEnabled: z.boolean().optional(),
    parameters: z.record(z.string(), z.unknown()).default({}),
  })
  .strict();
export type TemplateFile = z.infer<typeof TemplateFileSchema>;

/** Checks a template file's content; throws InputError with one line naming the field and the fix. */
export function parseTemplateFile(raw: unknown): TemplateFile {
  const parsed = TemplateFileSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new InputError(
      `invalid agent template: ${issue.path.length ? issue.path.join(".") : "file"}: ${issue.message}`,
    );
  }
  if (AGENT_TEMPLATES[parsed.data.agentType]) {
    throw new InputError(
      `invalid agent template: agentType: ${parsed.data.agentType} is a built-in template; choose another name`,
    );
  }
  return parsed.data;
}

export function templateFromFile(file: TemplateFile): AgentTemplate {
  const { parameters, ...template } = file;
  return { ...template, specialise: () => ({ ...parameters }) };
}

/** The built-in templates, then the registered ones; a registered one never replaces a built-in. */
export function withRegistered(builtIn: TemplateRegistry, registered: readonly TemplateFile[]): TemplateRegistry {
  return { ...Object.fromEntries(registered.map((file) => [file.agentType, templateFromFile(file)])), ...builtIn };
}
