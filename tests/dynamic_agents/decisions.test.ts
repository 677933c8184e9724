import { describe, expect, it } from "vitest";
import { agentIdFor, deriveRequirements } from "../../nodes/dynamic_agents/requirements.js";
import { candidateTemplates, scoreCandidates } from "../../nodes/dynamic_agents/selection.js";
import type { TemplateStats } from "../../checkpoints/dynamic_agents/agent_stats.js";
import {
  allocate,
  heldInTotal,
  ledgerProblems,
  poolCapacity,
  releaseOf,
} from "../../nodes/dynamic_agents/resources.js";
import { instantiate, specify } from "../../nodes/dynamic_agents/specification.js";
import { planAgents } from "../../nodes/dynamic_agents/agent_generator.js";
import { summariseAgents, summariseTemplates } from "../../nodes/dynamic_agents/summary.js";
import { AGENT_TEMPLATES, type AgentTemplate, type TemplateRegistry } from "../../state/dynamic_agents/templates.js";
import {
  DynamicAgentsSettingsSchema,
  parseDynamicAgentsInput,
  type DynamicTask,
  type LedgerEntry,
} from "../../state/dynamic_agents/types.js";
import { InputError } from "../../state/shared/errors.js";

const settings = DynamicAgentsSettingsSchema.parse({ model: "offline" });
const research = (description: string, complexity = 0.9): DynamicTask => ({
  description,
  type: "research",
  complexity,
});
const analysis = (description: string): DynamicTask => ({ description, type: "analysis" });

describe("deriveRequirements", () => {
  it("gives two high-complexity research tasks and an analysis task four requirements, the fourth coordinating three", () => {
    const requirements = deriveRequirements([research("a"), research("b"), analysis("c")]);
    expect(requirements.map((r) => r.capabilitiesNeeded)).toEqual([
      ["research"],
      ["research"],
      ["analysis"],
      ["coordination"],
    ]);
    expect(requirements[0]).toMatchObject({
      index: 0,
      domain: "general",
      detailLevel: "comprehensive",
      timeLimitSeconds: 600,
    });
    expect(requirements[2]).toMatchObject({ methodology: "statistical", confidenceLevel: 0.95, timeLimitSeconds: 400 });
    expect(requirements[3]).toMatchObject({ index: 3, agentCount: 3, coordinationComplexity: "high" });
  });

  it("adds no coordinator for two, and no agent for research of complexity 0.8 or less", () => {
    expect(deriveRequirements([research("a"), research("b")]).map((r) => r.capabilitiesNeeded)).toEqual([
      ["research"],
      ["research"],
    ]);
    expect(deriveRequirements([research("a", 0.8), { description: "b", type: "research" }])).toEqual([]);
  });

  it("takes the time limit from the deadline", () => {
    expect(
      deriveRequirements([
        { ...research("a"), deadline: 30 },
        { ...analysis("b"), deadline: 5 },
      ]).map((r) => r.timeLimitSeconds),
    ).toEqual([30, 5]);
  });

  it("gives stable agent ids from the thread and the requirement index", () => {
    expect(agentIdFor("t1", 2)).toBe("t1/agent-2");
    expect(agentIdFor("t1", 2)).toBe(agentIdFor("t1", 2));
  });
});

const generalist: AgentTemplate = {
  ...AGENT_TEMPLATES.research_specialist!,
  agentType: "research_generalist",
  capabilities: ["research", "analysis", "synthesis"],
};
const withGeneralist: TemplateRegistry = { ...AGENT_TEMPLATES, research_generalist: generalist };
const history = (successes: number, failures: number): TemplateStats => ({
  creations: successes + failures,
  successes,
  failures,
  averageQuality: null,
  meanSeconds: null,
  errors: 0,
  lastError: null,
});

describe("selection", () => {
  it("takes the true intersection: templates covering every required capability, none when no template covers them all", () => {
    expect(
      candidateTemplates(["research"], withGeneralist)
        .map((t) => t.agentType)
        .sort(),
    ).toEqual(["research_generalist", "research_specialist"]);
    expect(candidateTemplates(["research", "analysis"], withGeneralist).map((t) => t.agentType)).toEqual([
      "research_generalist",
    ]);
    // An emptied set stays empty: research and coordination together have no template.
    expect(candidateTemplates(["research", "coordination", "analysis"], withGeneralist)).toEqual([]);
    expect(candidateTemplates(["validation"], AGENT_TEMPLATES)).toEqual([]);
  });

  it("scores a specialist 0.4 + 0.4 + 0.2e and a three-capability generalist 0.133 + 0.4 + 0.2e", () => {
    const [first, second] = scoreCandidates(["research"], withGeneralist, {}, 4000);
    const e = 4000 / 8000;
    expect(first).toMatchObject({
      agentType: "research_specialist",
      capabilityMatch: 1,
      successRate: 1,
      resourceEfficiency: e,
    });
    expect(first!.score).toBeCloseTo(0.4 + 0.4 + 0.2 * e, 10);
    expect(second).toMatchObject({ agentType: "research_generalist", successRate: 1, resourceEfficiency: e });
    expect(second!.score).toBeCloseTo(0.4 / 3 + 0.4 + 0.2 * e, 10);
  });

  it("prefers the generalist once the specialist's success rate falls below 1/3, and breaks ties by name", () => {
    expect(
      scoreCandidates(["research"], withGeneralist, { research_specialist: history(1, 1) }, 8000)[0]!.agentType,
    ).toBe("research_specialist");
    expect(
      scoreCandidates(["research"], withGeneralist, { research_specialist: history(1, 3) }, 8000)[0]!.agentType,
    ).toBe("research_generalist");
    // At exactly 1/3 the scores are equal: the name decides.
    const tied = scoreCandidates(["research"], withGeneralist, { research_specialist: history(1, 2) }, 8000);
    expect(tied[0]!.score).toBe(tied[1]!.score);
    expect(tied.map((c) => c.agentType)).toEqual(["research_generalist", "research_specialist"]);
  });
});

describe("specifications", () => {
  it("follows the specialisation table and the specification's defaults", () => {
    const [researchReq, , analysisReq, coordinationReq] = deriveRequirements([
      { ...research("a"), domain: "fintech", preferredSources: ["sec.gov"] },
      research("b"),
      analysis("c"),
    ]);
    const spec = specify("t/agent-0", researchReq!, AGENT_TEMPLATES, {}).specification!;
    expect(spec).toMatchObject({
      agentType: "research_specialist",
      capabilities: ["research"],
      maxConcurrentTasks: 3,
      timeoutSeconds: 600,
      retryAttempts: 3,
      monitoringEnabled: true,
      resourceRequirements: { slots: 1, memoryMb: 1024, tokens: 8000 },
    });
    expect(spec.specializationParameters).toEqual({
      research_focus: "fintech",
      depth_level: "comprehensive",
      data_sources: ["sec.gov"],
      fact_checking_enabled: true,
      quality_threshold: 0.8,
      response_time_target: 600,
      iteration_limit: 3,
    });
    expect(specify("t/agent-2", analysisReq!, AGENT_TEMPLATES, {}).specification!.specializationParameters).toEqual({
      analysis_framework: "statistical",
      statistical_methods: [],
      visualization_preferences: [],
      confidence_intervals: 0.95,
      quality_threshold: 0.8,
      response_time_target: 400,
      iteration_limit: 3,
    });
    const coordinator = specify("t/agent-3", coordinationReq!, AGENT_TEMPLATES, {}).specification!;
    expect(coordinator.agentType).toBe("coordination_specialist");
    expect(coordinator.timeoutSeconds).toBe(300);
    expect(coordinator.specializationParameters).toMatchObject({ agent_count: 3, response_time_target: 300 });
    expect(AGENT_TEMPLATES.synthesis_specialist!.specialise(researchReq!)).toEqual({
      synthesis_style: "executive",
      audience_level: "expert",
      length_target: "medium",
      citation_style: "apa",
    });
  });

  it("records NoSuitableAgentError and an unknown agent type as errors, not throws", () => {
    const [requirement] = deriveRequirements([{ description: "x", capabilities: ["research", "analysis"] }]);
    expect(specify("t/agent-0", requirement!, AGENT_TEMPLATES, {})).toMatchObject({
      status: "refused",
      candidates: [],
      error: {
        kind: "NoSuitableAgentError",
        message: "no agent template has all of the required capabilities: research, analysis",
      },
    });
    const spec = specify("t/agent-0", deriveRequirements([research("a")])[0]!, AGENT_TEMPLATES, {}).specification!;
    expect(
      instantiate("t/agent-0", { ...spec, agentType: "poet" }, AGENT_TEMPLATES, settings, poolCapacity(settings), []),
    ).toEqual({
      error: { kind: "UnknownAgentTypeError", message: "no template registered for agent type: poet" },
    });
  });

  it("records AgentCreationError when the agent's model cannot be made, and allocates nothing for it", () => {
    const spec = specify("t/agent-0", deriveRequirements([research("a")])[0]!, AGENT_TEMPLATES, {}).specification!;
    const openai = { ...settings, model: "openai:gpt-4o-mini" };
    const saved = process.env.OPENAI_API_KEY;
    delete process.env.OPENAI_API_KEY;
    try {
      const made = instantiate("t/agent-0", spec, AGENT_TEMPLATES, openai, poolCapacity(openai), []);
      expect(made).toMatchObject({ error: { kind: "AgentCreationError" } });
    } finally {
      if (saved !== undefined) process.env.OPENAI_API_KEY = saved;
    }
  });
});

describe("the resource ledger", () => {
  const needs = { slots: 1, memoryMb: 1024, tokens: 8000 };

  it("refuses an agent the pool has no room for, naming what is short", () => {
    const capacity = { slots: 2, memoryMb: 8192, tokens: 100_000 };
    const ledger: LedgerEntry[] = [];
    for (const id of ["a", "b"]) {
      const made = allocate(capacity, ledger, id, "research_specialist", needs);
      if (!("entry" in made)) throw new Error("expected room");
      ledger.push(made.entry);
    }
    expect(allocate(capacity, ledger, "c", "research_specialist", needs)).toEqual({
      error: {
        kind: "ResourceUnavailableError",
        message: "insufficient resources for agent type research_specialist: slots 0 free of 2, needs 1",
      },
    });
    ledger.push(releaseOf(ledger[0]!));
    expect("entry" in allocate(capacity, ledger, "c", "research_specialist", needs)).toBe(true);
  });

  it("balances only when every allocation is released exactly once", () => {
    const a: LedgerEntry = { agentId: "a", kind: "allocate", resources: needs };
    expect(ledgerProblems([a, releaseOf(a)])).toEqual([]);
    expect(heldInTotal([a, releaseOf(a)])).toEqual({ slots: 0, memoryMb: 0, tokens: 0 });
    expect(ledgerProblems([a])).toEqual(["a never released"]);
    expect(ledgerProblems([a, releaseOf(a), releaseOf(a)])).toEqual(["a released twice"]);
    expect(() => releaseOf(releaseOf(a))).toThrow(/only an allocation/);
  });

  it("plans with a two-slot pool: the third agent is rejected for resources, the coordinator waits for the others", () => {
    const two = { ...settings, maxConcurrency: 2 };
    const requirements = deriveRequirements([research("a"), research("b"), analysis("c")]);
    const { records, allocations } = planAgents("t", requirements, AGENT_TEMPLATES, {}, two);
    expect(records.map((r) => [r.agentId, r.status, r.error?.kind])).toEqual([
      ["t/agent-0", "instantiated", undefined],
      ["t/agent-1", "instantiated", undefined],
      ["t/agent-2", "refused", "ResourceUnavailableError"],
      ["t/agent-3", "deferred", undefined],
    ]);
    expect(allocations.map((e) => e.agentId)).toEqual(["t/agent-0", "t/agent-1"]);
    const summary = summariseAgents(Object.fromEntries(records.map((r) => [r.agentId, r])), {});
    expect(summary.map((s) => s.status)).toEqual(["pending", "pending", "rejected_for_resources", "pending"]);
    expect(summary[2]).toMatchObject({
      agentType: "analysis_specialist",
      capabilities: ["analysis"],
      error: expect.stringMatching(/^ResourceUnavailableError: /),
    });
  });
});

describe("task queue validation", () => {
  const oneLine = (raw: unknown) => {
    try {
      parseDynamicAgentsInput(raw);
    } catch (error) {
      expect(error).toBeInstanceOf(InputError);
      const message = (error as Error).message;
      expect(message).not.toContain("\n");
      return message;
    }
    throw new Error("expected the input to be refused");
  };

  it("refuses an unknown capability, a negative deadline, 10 000 tasks, a bare list and a missing taskQueue with one line naming the field and the fix", () => {
    expect(oneLine({ taskQueue: [{ description: "x", type: "poetry" }] })).toBe(
      'invalid task queue: taskQueue.0.type: unknown capability "poetry"; use one of research, analysis, synthesis, validation, monitoring, coordination',
    );
    expect(oneLine({ taskQueue: [{ description: "x", capabilities: ["research", "dance"] }] })).toMatch(
      /^invalid task queue: taskQueue\.0\.capabilities\.1: unknown capability "dance"/,
    );
    expect(oneLine({ taskQueue: [{ description: "x", type: "research", deadline: -5 }] })).toBe(
      "invalid task queue: taskQueue.0.deadline: must be a positive number of seconds",
    );
    const many = Array.from({ length: 10_000 }, (_, i) => ({ description: `task ${i}`, type: "research" }));
    expect(oneLine({ taskQueue: many })).toBe("invalid task queue: taskQueue: must hold at most 50 tasks");
    expect(oneLine([research("bare")])).toBe(
      'invalid task queue: input: expected {"taskQueue": [{"description": "...", "type": "research"}, ...]}, not a bare list: put the list under "taskQueue"',
    );
    expect(oneLine({ tasks: [research("misnamed")] })).toBe(
      'invalid task queue: taskQueue: is missing: give {"taskQueue": [{"description": "...", "type": "research"}, ...]}',
    );
    expect(parseDynamicAgentsInput({ taskQueue: [research("fine")] })).toEqual([research("fine")]);
  });
});

describe("summaries", () => {
  it("lists every template with its capabilities, creations, success rate and average quality", () => {
    const rows = summariseTemplates(AGENT_TEMPLATES, {
      research_specialist: { ...history(3, 1), creations: 5, averageQuality: 0.87 },
    });
    expect(rows.map((r) => r.agentType)).toEqual([
      "analysis_specialist",
      "coordination_specialist",
      "research_specialist",
      "synthesis_specialist",
    ]);
    expect(rows[2]).toEqual({
      agentType: "research_specialist",
      capabilities: ["research"],
      creations: 5,
      successRate: 0.75,
      averageQuality: 0.87,
      meanSeconds: null,
      errors: 0,
      lastError: null,
    });
    expect(rows[0]).toEqual({
      agentType: "analysis_specialist",
      capabilities: ["analysis"],
      creations: 0,
      successRate: 1,
      averageQuality: null,
      meanSeconds: null,
      errors: 0,
      lastError: null,
    });
    // Averages come from Postgres's avg, with its float noise: shown to the scores' 3 decimals.
    expect(
      summariseTemplates(AGENT_TEMPLATES, {
        analysis_specialist: { ...history(2, 0), averageQuality: 0.8765000000000001 },
      })[0]!.averageQuality,
    ).toBe(0.877);
  });
});
