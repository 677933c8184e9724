import { HumanMessage, SystemMessage, type BaseMessage } from "@langchain/core/messages";
import { describe, expect, it } from "vitest";
import type { z } from "zod";
import { createChatModel } from "../models/index.js";
import { nextToolCall, type OfferedTool } from "../models/offline/tool_use.js";
import { agentPrompt } from "../nodes/dynamic_agents/prompts.js";
import { deriveRequirements } from "../nodes/dynamic_agents/requirements.js";
import { specify } from "../nodes/dynamic_agents/specification.js";
import { branchPrompt, branchSourcesBrief, taskAnalysisPrompt } from "../nodes/parallel_workflow/prompts.js";
import {
  MERGE_SYSTEM_PROMPT,
  judgePrompt,
  judgeSystemPrompt,
  synthesisPrompt,
  toolLoopSystemPrompt,
} from "../nodes/shared/prompts.js";
import type { AgentTaskInput } from "../state/dynamic_agents/state.js";
import { AGENT_TEMPLATES } from "../state/dynamic_agents/templates.js";
import { TASK_ANALYSIS, TaskAnalysisSchema } from "../state/parallel_workflow/outputs.js";
import type { BranchAllocation, BranchInput } from "../state/parallel_workflow/workflow.js";
import { BRANCH_FINDINGS, BranchFindingsSchema } from "../state/shared/findings.js";
import {
  MERGE_SYNTHESIS,
  MergeSynthesisSchema,
  QUALITY_JUDGEMENT,
  QualityJudgementSchema,
  type IntegrationResult,
} from "../state/shared/merge.js";
import { allocation, synthesis } from "./support/fixtures.js";

// The contract between the prompt builders and the offline skills: each prompt is built by the
// builder a node calls, answered by the offline model as a node's call is, and the answer shows
// the skill read what the prompt's labels carry (state/shared/prompt_labels.ts). The objective
// differs from the task throughout, so an answer built from the task instead shows.

const TASK = "Plan a rollout of hydroponic towers on city rooftops for a grocery chain";
const SUBJECT = "rooftop hydroponics";

const ask = <T extends Record<string, unknown>>(schema: z.ZodType<T>, name: string, messages: BaseMessage[]) =>
  createChatModel("offline").withStructuredOutput<T>(schema, { name }).invoke(messages);

function branchInput(
  overrides: Partial<BranchAllocation> = {},
  priorResults: BranchInput["priorResults"] = [],
): BranchInput {
  return {
    branchId: "b2-research-demand",
    model: "offline",
    // "technical" in the objective: a skill that missed the focus label would take that lens instead.
    allocation: allocation("b2-research-demand", 1, {
      objective: `Size the demand for "${SUBJECT}" among technical buyers`,
      focus: "market",
      ...overrides,
    }),
    taskQueue: [{ description: TASK }],
    priorResults,
  };
}

const branchFindings = (input: BranchInput) =>
  ask(BranchFindingsSchema, BRANCH_FINDINGS, [
    new SystemMessage("You are a research agent."),
    new HumanMessage(branchPrompt(input)),
  ]);

describe("branch prompts → branch_findings", () => {
  it("reads the objective and the research focus", async () => {
    const answer = await branchFindings(branchInput());
    expect(answer.summary).toMatch(new RegExp(`^Market research on "${SUBJECT}"`));
  });

  it("reads an analysis branch's analysis type and data sources", async () => {
    const input = branchInput({
      type: "analysis",
      focus: undefined,
      analysisType: "risk",
      dataSources: ["incident reports"],
    });
    const answer = await branchFindings(input);
    expect(answer.summary).toMatch(new RegExp(`^Risk analysis on "${SUBJECT}"`));
    expect(
      answer.findings.flatMap((f) => f.evidence).some((e) => e.startsWith("Checked against incident reports")),
    ).toBe(true);
  });

  it("reads the prior results, the feedback and the findings cap", async () => {
    const prior = [{ branchId: "b1-research-technical", summary: "towers need reinforced roofs" }];
    const answer = await branchFindings(
      branchInput(
        { feedback: "Cover water costs", resources: { cpuShare: 0.2, timeoutMs: 1000, maxFindings: 1 } },
        prior,
      ),
    );
    expect(answer.findings).toHaveLength(1);
    expect(answer.summary).toMatch(/revised to address the feedback/);
    const full = await branchFindings(branchInput({}, prior));
    expect(
      full.findings
        .flatMap((f) => f.evidence)
        .some((e) => e.startsWith("Builds on earlier branch b1-research-technical")),
    ).toBe(true);
  });

  it("reads a reduced scope", async () => {
    // Unreduced, a brief asks for two to four findings by its seed: over eight briefs a missed
    // reduced scope shows.
    const objectives = Array.from({ length: 8 }, (_, i) => `Size the demand for "${SUBJECT}" in city ${i + 1}`);
    const counts = await Promise.all(
      objectives.map(
        async (objective) => (await branchFindings(branchInput({ objective, scope: "reduced" }))).findings.length,
      ),
    );
    expect(Math.max(...counts)).toBeLessThanOrEqual(2);
  });
});

describe("a dynamic agent's prompt → branch_findings", () => {
  it("reads the objective and the findings cap", async () => {
    // Unquoted: a skill that missed the objective would take the first quoted value, a parameter, as its subject.
    const objective = `Assess ${SUBJECT} for a grocery chain`;
    const [requirement] = deriveRequirements([
      { description: objective, type: "research", complexity: 0.9, domain: "retail" },
    ]);
    const record = specify("t/agent-1", requirement!, AGENT_TEMPLATES, {});
    const specification = {
      ...record.specification!,
      specializationParameters: { ...record.specification!.specializationParameters, iteration_limit: 0 },
    };
    const input: AgentTaskInput = {
      agentId: "t/agent-1",
      model: "offline",
      role: AGENT_TEMPLATES.research_specialist!.role,
      specification,
      allocation: { agentId: "t/agent-1", kind: "allocate", resources: specification.resourceRequirements },
      taskDescription: objective,
      inputs: [],
    };
    const answer = await ask(BranchFindingsSchema, BRANCH_FINDINGS, [
      new SystemMessage(input.role),
      new HumanMessage(agentPrompt(input)),
    ]);
    expect(answer.summary).toContain(`on "${objective}":`);
    expect(answer.findings).toHaveLength(1);
  });
});

describe("the planner's prompt → task_analysis", () => {
  it("reads every task under the task queue heading, with its stated complexity", async () => {
    const prompt = taskAnalysisPrompt([
      { description: TASK, complexity: 0.42 },
      { description: "Compare seed suppliers", complexity: 0.42 },
    ]);
    const answer = await ask(TaskAnalysisSchema, TASK_ANALYSIS, [new SystemMessage("plan"), new HumanMessage(prompt)]);
    expect(answer.complexityScore).toBe(0.42);
    expect(answer.branchPlan.map((b) => b.task)).toEqual([1, 1, 1, 1, 1, 2, 2, 2, 2, 2]);
  });
});

describe("the merge prompt → merge_synthesis", () => {
  it("reads each branch's claims, and its evidence after the evidence label", async () => {
    const prompt = synthesisPrompt("research", [
      {
        source: "b1-research-technical",
        share: "1.00",
        quality: 0.9,
        summary: "Towers fit most roofs.",
        findings: [
          { claim: "Hydroponic towers fit most flat roofs", evidence: ["roof survey", "load tables"], confidence: 0.8 },
        ],
      },
    ]);
    const answer = await ask(MergeSynthesisSchema, MERGE_SYNTHESIS, [
      new SystemMessage(MERGE_SYSTEM_PROMPT),
      new HumanMessage(prompt),
    ]);
    expect(answer.primaryFindings).toContainEqual({
      statement: "Hydroponic towers fit most flat roofs",
      sources: ["b1-research-technical"],
    });
    expect(answer.supportingEvidence).toEqual([
      { evidence: "roof survey", source: "b1-research-technical" },
      { evidence: "load tables", source: "b1-research-technical" },
    ]);
  });
});

describe("the judge's prompt → quality_judgement", () => {
  it("counts the items under the supporting-evidence heading as evidence, not as findings", async () => {
    const result: IntegrationResult = {
      researchSynthesis: synthesis(
        [
          {
            statement: "Hydroponic towers on city rooftops should start with one grocery store",
            sources: ["b1-research-technical"],
          },
        ],
        [
          {
            evidence: "A survey of city rooftops found hydroponic towers fit most of them",
            source: "b1-research-technical",
          },
        ],
      ),
      analysisSynthesis: synthesis([], []),
      integrationMetadata: {
        successfulBranches: 1,
        failedBranches: [],
        missingBranches: [],
        overallQualityScore: 0.8,
        integratedAt: "",
      },
    };
    const answer = await ask(QualityJudgementSchema, QUALITY_JUDGEMENT, [
      new SystemMessage(judgeSystemPrompt(false)),
      new HumanMessage(judgePrompt([{ description: TASK }], result)),
    ]);
    expect(answer.issues.filter((issue) => /lack supporting evidence|addresses/.test(issue))).toEqual([]);
  });
});

describe("a tool loop's prompts → the offline agent", () => {
  const search: OfferedTool = {
    name: "search_corpus",
    description: "Search the documents",
    parameters: { type: "object", properties: { query: { type: "string" } }, required: ["query"] },
  };

  it("reads the tool budget from the system prompt and searches for the question", () => {
    const brief = branchSourcesBrief("You are a research agent.", branchInput());
    const turn = (budget: number) =>
      nextToolCall(
        [
          { type: "system", text: toolLoopSystemPrompt(budget), toolCalls: [] },
          { type: "human", text: brief, toolCalls: [] },
        ],
        [search],
      );
    const first = turn(3);
    expect(first?.call?.name).toBe("search_corpus");
    expect(String(first?.call?.args.query)).toMatch(/rollout/);
    expect(turn(0)).toEqual({});
  });
});
