import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { AIMessage, HumanMessage, SystemMessage, ToolMessage } from "@langchain/core/messages";
import { tool } from "@langchain/core/tools";
import { Annotation, Send, StateGraph } from "@langchain/langgraph";
import { ChatOpenAI } from "@langchain/openai";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { z } from "zod";
import { createChatModel, defaultModelSpec, parseModelSpec } from "../models/index.js";
import {
  OfflineChatModel,
  offlineCallCounts,
  resetOfflineCallCounts,
  type CallLogEntry,
} from "../models/offline/model.js";
import { judgeScore } from "../nodes/parallel_workflow/quality_validator.js";
import { InputError } from "../state/shared/errors.js";
import {
  MERGE_SYNTHESIS,
  MergeSynthesisSchema,
  QUALITY_JUDGEMENT,
  QualityJudgementSchema,
  TASK_ANALYSIS,
  TaskAnalysisSchema,
  type MergeSynthesis,
  type QualityJudgement,
} from "../state/parallel_workflow/outputs.js";
import { BRANCH_FINDINGS, BranchFindingsSchema, type BranchFindings } from "../state/shared/findings.js";

// Prompts in the shape the app's nodes write them, around a word no template contains.
const TASK = "Evaluate hydroponic farming for urban rooftops, including water costs, crop yields and regulatory risks";

const analysisPrompt = (tasks: object[]) => [
  new SystemMessage("You plan a parallel multi-agent workflow. First score it, then plan the branches."),
  new HumanMessage(`Task queue:\n${tasks.map((t, i) => `${i + 1}. ${JSON.stringify(t)}`).join("\n")}`),
];

function branchPrompt(extra: { feedback?: string; maxFindings?: number; reduced?: boolean; task?: string } = {}) {
  const task = extra.task ?? TASK;
  const lines = [
    "Branch b2-research-market (attempt 1).",
    `Objective: Size the demand and the buyers behind "${task}"`,
    "Research focus: market",
    "Priority: normal",
    "",
    "Task queue:",
    `1. ${task}`,
  ];
  if (extra.feedback) lines.push("", `Feedback to address: ${extra.feedback}`);
  const reduced = extra.reduced ? " Keep to the core question: this is a reduced-scope retry." : "";
  lines.push(
    "",
    `Return at most ${extra.maxFindings ?? 4} findings, each with concrete evidence and a confidence.${reduced}`,
  );
  return [new SystemMessage("You are a market research agent."), new HumanMessage(lines.join("\n"))];
}

function mergePrompt(results: [string, BranchFindings][]) {
  const blocks = results.map(([id, r]) =>
    [
      `## ${id} (weight 0.200, quality 0.850)`,
      `Summary: ${r.summary}`,
      ...r.findings.map((f) => `- ${f.claim} (confidence ${f.confidence}) Evidence: ${f.evidence.join(" | ")}`),
    ].join("\n"),
  );
  return [
    new SystemMessage("You merge the findings of parallel agents into one coherent, attributed result."),
    new HumanMessage(`Synthesise these research results into primary findings.\n\n${blocks.join("\n\n")}`),
  ];
}

function judgePrompt(synthesis: MergeSynthesis, sources: number, task = TASK) {
  const result = [
    `## Research (merged, ${sources} sources)`,
    synthesis.summary,
    ...synthesis.primaryFindings.map((f) => `- ${f.statement} [${f.sources.join(", ")}]`),
    "Supporting evidence:",
    ...synthesis.supportingEvidence.map((e) => `- ${e.evidence} [${e.source}]`),
  ].join("\n");
  return [
    new SystemMessage("You are a strict quality judge.\n- coverage: Every task is addressed.\n- evidence: Backed."),
    new HumanMessage(`Task queue:\n1. ${task}\n\nIntegrated result:\n${result}`),
  ];
}

const structured = <T extends Record<string, unknown>>(schema: z.ZodType<T>, name: string) =>
  createChatModel("offline").withStructuredOutput<T>(schema, { name });

async function findingsFor(id: string, task = TASK): Promise<BranchFindings> {
  const prompt = branchPrompt({ task });
  (prompt[1] as HumanMessage).content = String(prompt[1]!.content).replace("b2-research-market", id);
  return structured(BranchFindingsSchema, BRANCH_FINDINGS).invoke(prompt);
}

/** The offline pipeline from branches to verdict: four branches' findings, merged, then judged. */
async function judgedPipeline(task: string): Promise<{ findings: BranchFindings[]; judgement: QualityJudgement }> {
  const ids = ["b1-research-technical", "b2-research-market", "b3-research-competitive", "b4-analysis-high"];
  const results = await Promise.all(
    ids.map(async (id) => [id, await findingsFor(id, task)] as [string, BranchFindings]),
  );
  const synthesis = await structured(MergeSynthesisSchema, MERGE_SYNTHESIS).invoke(mergePrompt(results));
  const judgement = await structured(QualityJudgementSchema, QUALITY_JUDGEMENT).invoke(
    judgePrompt(synthesis, ids.length, task),
  );
  return { findings: results.map(([, r]) => r), judgement };
}

/** A result written by hand: statements and evidence, each citing a branch. */
const written = (statements: [string, string][], evidence: [string, string][] = []): MergeSynthesis => ({
  summary: "Synthesis of the branch results.",
  primaryFindings: statements.map(([statement, source]) => ({ statement, sources: [source] })),
  supportingEvidence: evidence.map(([text, source]) => ({ evidence: text, source })),
});

const judge = (synthesis: MergeSynthesis, sources = 3) =>
  structured(QualityJudgementSchema, QUALITY_JUDGEMENT).invoke(judgePrompt(synthesis, sources));

/** Runs `call` inside a one-node graph, so the fault plan for `node` applies to it. */
async function inNode<T>(node: string, call: () => Promise<T>): Promise<T> {
  const graph = new StateGraph(Annotation.Root({ out: Annotation<T> }))
    .addNode(node, async () => ({ out: await call() }))
    .addEdge("__start__", node)
    .compile();
  return (await graph.invoke({})).out;
}

function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected a throw");
}

beforeEach(() => {
  resetOfflineCallCounts();
  for (const name of ["ORCHESTRA_OFFLINE_LATENCY_MS", "ORCHESTRA_OFFLINE_FAULTS", "ORCHESTRA_OFFLINE_CALL_LOG"]) {
    vi.stubEnv(name, undefined);
  }
});
afterEach(() => {
  vi.unstubAllEnvs();
});

describe("parseModelSpec", () => {
  it("reads 'offline' and 'openai:<name>'", () => {
    expect(parseModelSpec("offline")).toEqual({ provider: "offline" });
    expect(parseModelSpec("openai:gpt-4o-mini")).toEqual({ provider: "openai", name: "gpt-4o-mini" });
    // Ollama-style names carry a colon of their own.
    expect(parseModelSpec("openai:llama3.1:8b")).toEqual({ provider: "openai", name: "llama3.1:8b" });
  });

  it.each(["", "foo", "openai:", "openai: gpt-4o", "openai:gpt 4o", "OFFLINE", "anthropic:claude"])(
    "rejects %j with an InputError saying what is accepted",
    (spec) => {
      const error = thrown(() => parseModelSpec(spec));
      expect(error).toBeInstanceOf(InputError);
      expect(error.message).toMatch(/use 'offline' or 'openai:<model-name>'/);
      expect(error.message.split("\n")).toHaveLength(1);
    },
  );
});

describe("defaultModelSpec", () => {
  it("prefers ORCHESTRA_MODEL, then OpenAI when a key is set, then offline", () => {
    expect(defaultModelSpec({})).toBe("offline");
    expect(defaultModelSpec({ OPENAI_API_KEY: "sk-test" })).toBe("openai:gpt-4o-mini");
    expect(defaultModelSpec({ OPENAI_API_KEY: "sk-test", ORCHESTRA_MODEL: "offline" })).toBe("offline");
    expect(defaultModelSpec({ ORCHESTRA_MODEL: "openai:gpt-4.1" })).toBe("openai:gpt-4.1");
  });

  it("rejects a malformed ORCHESTRA_MODEL, naming the variable", () => {
    const error = thrown(() => defaultModelSpec({ ORCHESTRA_MODEL: "gpt-4o" }));
    expect(error).toBeInstanceOf(InputError);
    expect(error.message).toMatch(/ORCHESTRA_MODEL 'gpt-4o'/);
  });

  it("reads process.env by default", () => {
    vi.stubEnv("ORCHESTRA_MODEL", "openai:gpt-4o");
    expect(defaultModelSpec()).toBe("openai:gpt-4o");
  });
});

describe("createChatModel", () => {
  it("makes the offline model", () => {
    expect(createChatModel("offline")).toBeInstanceOf(OfflineChatModel);
  });

  it("makes ChatOpenAI with modest retries, and needs a key", () => {
    const model = createChatModel("openai:gpt-4o-mini", { OPENAI_API_KEY: "sk-secret-123" });
    expect(model).toBeInstanceOf(ChatOpenAI);
    expect((model as ChatOpenAI).model).toBe("gpt-4o-mini");
    // The app retries branches itself: the client's own retries stay few.
    expect((model.caller as unknown as { maxRetries: number }).maxRetries).toBe(2);

    const missing = thrown(() => createChatModel("openai:gpt-4o-mini", {}));
    expect(missing).toBeInstanceOf(InputError);
    expect(missing.message).toMatch(/needs OPENAI_API_KEY/);
  });

  it("never echoes the key", () => {
    const error = thrown(() => createChatModel("gpt-4o-mini", { OPENAI_API_KEY: "sk-secret-123" }));
    expect(error).toBeInstanceOf(InputError);
    expect(error.message).not.toContain("sk-secret-123");
  });
});

describe("OfflineChatModel", () => {
  it("is marked as offline", async () => {
    const model = new OfflineChatModel();
    expect(model._llmType()).toBe("orchestra-offline");
    const reply = await model.invoke("Describe hydroponic rooftop farms.");
    expect(reply.response_metadata).toMatchObject({
      model_provider: "offline",
      model_name: "orchestra-offline",
      offline: true,
    });
    const usage = reply.usage_metadata!;
    expect(usage.input_tokens).toBeGreaterThan(0);
    expect(usage.total_tokens).toBe(usage.input_tokens + usage.output_tokens);
  });

  it("answers plain prompts with text taken from the prompt", async () => {
    const reply = await new OfflineChatModel().invoke([
      new SystemMessage("Be brief."),
      new HumanMessage("Hydroponic rooftops save water. They need strong roofs. Pumps fail in winter."),
    ]);
    expect(reply.content).toMatch(/^\[offline\] /);
    expect(reply.content).toContain("Hydroponic rooftops save water.");
    expect(reply.tool_calls ?? []).toEqual([]);
  });

  it("is deterministic, and different prompts get different answers", async () => {
    const model = structured(BranchFindingsSchema, BRANCH_FINDINGS);
    const first = await model.invoke(branchPrompt());
    expect(await model.invoke(branchPrompt())).toEqual(first);
    expect(await new OfflineChatModel().invoke("Same words here.")).toMatchObject({
      content: (await new OfflineChatModel().invoke("Same words here.")).content,
    });
    const other = await model.invoke(branchPrompt({ feedback: "cover seasonal demand" }));
    expect(other).not.toEqual(first);
  });

  describe("task_analysis", () => {
    it("plans five branches for the task, built from its text", async () => {
      const analysis = await structured(TaskAnalysisSchema, TASK_ANALYSIS).invoke(
        analysisPrompt([{ description: TASK }]),
      );
      expect(TaskAnalysisSchema.parse(analysis)).toEqual(analysis);
      expect(analysis.branchPlan.map((b) => [b.type, b.focus ?? b.priority])).toEqual([
        ["research", "technical"],
        ["research", "market"],
        ["research", "competitive"],
        ["analysis", "high"],
        ["analysis", "normal"],
      ]);
      for (const branch of analysis.branchPlan) expect(branch.objective).toMatch(/hydroponic/i);
      for (const branch of analysis.branchPlan.filter((b) => b.type === "analysis")) {
        expect(branch.analysisType).toBeTruthy();
        expect(branch.dataSources!.length).toBeGreaterThan(0);
      }
      // A demo-sized task is not "very complex" nor a strict sequence.
      expect(analysis.complexityScore).toBeLessThanOrEqual(0.8);
      expect(analysis.interdependencyScore).toBeLessThanOrEqual(0.6);
    });

    it("plans five branches per task for a long queue", async () => {
      const tasks = Array.from({ length: 20 }, (_, i) => ({
        description: `Survey hydroponic supplier number ${i + 1}`,
      }));
      const analysis = await structured(TaskAnalysisSchema, TASK_ANALYSIS).invoke(analysisPrompt(tasks));
      expect(analysis.branchPlan).toHaveLength(100);
      expect(analysis.branchPlan[97]!.objective).toContain("supplier number 20");
      // Each branch names its task, so it is sent that task alone.
      expect(analysis.branchPlan.map((b) => b.task)).toEqual(
        Array.from({ length: 100 }, (_, i) => Math.floor(i / 5) + 1),
      );
    });

    it("respects a stated complexity and reads sequencing as interdependency", async () => {
      const model = structured(TaskAnalysisSchema, TASK_ANALYSIS);
      const stated = await model.invoke(analysisPrompt([{ description: TASK, complexity: 0.93 }]));
      expect(stated.complexityScore).toBe(0.93);

      const sequential = await model.invoke(
        analysisPrompt([
          {
            description:
              "First migrate the billing database, then re-index search once the migration is done, " +
              "after that switch traffic; each step depends on the previous one",
          },
        ]),
      );
      const independent = await model.invoke(analysisPrompt([{ description: TASK }]));
      expect(sequential.interdependencyScore).toBeGreaterThan(0.6);
      expect(sequential.interdependencyScore).toBeGreaterThan(independent.interdependencyScore);
    });
  });

  describe("branch_findings", () => {
    it("returns two to four evidenced findings built from the brief", async () => {
      const findings = await structured(BranchFindingsSchema, BRANCH_FINDINGS).invoke(branchPrompt());
      expect(BranchFindingsSchema.parse(findings)).toEqual(findings);
      expect(findings.findings.length).toBeGreaterThanOrEqual(2);
      expect(findings.findings.length).toBeLessThanOrEqual(4);
      for (const finding of findings.findings) {
        expect(finding.evidence.length).toBeGreaterThanOrEqual(2);
        expect(finding.confidence).toBeGreaterThanOrEqual(0.75);
        expect(finding.confidence).toBeLessThanOrEqual(0.95);
      }
      expect(JSON.stringify(findings.findings)).toMatch(/hydroponic/i);
      expect(findings.summary).toMatch(/^Market research/);
    });

    it("keeps to the number of findings asked for", async () => {
      const model = structured(BranchFindingsSchema, BRANCH_FINDINGS);
      expect((await model.invoke(branchPrompt({ maxFindings: 1 }))).findings).toHaveLength(1);
      expect((await model.invoke(branchPrompt({ reduced: true }))).findings.length).toBeLessThanOrEqual(2);
    });

    it("takes up the feedback in a revision, and is not more confident for being one", async () => {
      const model = structured(BranchFindingsSchema, BRANCH_FINDINGS);
      const plain = await model.invoke(branchPrompt());
      const revised = await model.invoke(branchPrompt({ feedback: "Cover licensing costs for self-hosting" }));
      expect(revised.findings[0]!.claim).toMatch(/licensing costs for self-hosting/i);
      expect(revised.findings[0]!.evidence.join(" ")).toContain("Cover licensing costs for self-hosting");
      // Confidence comes from what the findings say, not from the prompt asking for a revision.
      expect(Math.abs(revised.confidence - plain.confidence)).toBeLessThanOrEqual(0.03);
    });

    it("scores a revision higher only when it addresses the feedback", async () => {
      vi.stubEnv("ORCHESTRA_OFFLINE_FAULTS", JSON.stringify({ lazy_branch: { weak: true } }));
      const prompt = branchPrompt({ feedback: "Cover licensing costs for self-hosting" });
      const addressed = await structured(BranchFindingsSchema, BRANCH_FINDINGS).invoke(prompt);
      const ignored = await inNode("lazy_branch", () =>
        structured(BranchFindingsSchema, BRANCH_FINDINGS).invoke(prompt),
      );
      expect(JSON.stringify(ignored)).not.toMatch(/licensing/i);
      expect(ignored.confidence).toBeLessThan(0.5);
      expect(addressed.confidence).toBeGreaterThan(ignored.confidence + 0.3);
    });

    it.each(["x", "asdf qwer zxcv", "🙂🙂🙂 ??? !!!"])("is not confident about the nonsense task %j", async (task) => {
      const findings = await structured(BranchFindingsSchema, BRANCH_FINDINGS).invoke(branchPrompt({ task }));
      for (const finding of findings.findings) expect(finding.confidence).toBeLessThan(0.5);
      expect(findings.confidence).toBeLessThan(0.5);
    });
  });

  describe("merge_synthesis and quality_judgement", () => {
    it("merges the branches in the prompt, citing their ids, and a healthy merge judges well", async () => {
      const ids = ["b1-research-technical", "b2-research-market", "b3-research-competitive", "b4-analysis-high"];
      const results = await Promise.all(ids.map(async (id) => [id, await findingsFor(id)] as [string, BranchFindings]));

      const synthesis = await structured(MergeSynthesisSchema, MERGE_SYNTHESIS).invoke(mergePrompt(results));
      expect(MergeSynthesisSchema.parse(synthesis)).toEqual(synthesis);
      const cited = new Set(synthesis.primaryFindings.flatMap((f) => f.sources));
      expect([...cited].sort()).toEqual(ids);
      for (const e of synthesis.supportingEvidence) expect(ids).toContain(e.source);
      expect(synthesis.primaryFindings.map((f) => f.statement).join(" ")).toMatch(/hydroponic/i);

      // The merge adds no advice of its own: every statement but the shared subject is a branch's claim.
      const claims = new Set(results.flatMap(([, r]) => r.findings.map((f) => f.claim.replace(/\.$/, ""))));
      const added = synthesis.primaryFindings.map((f) => f.statement).filter((s) => !claims.has(s));
      expect(added.length).toBeLessThanOrEqual(1);
      for (const statement of added) expect(statement).toMatch(/^Common thread: [^,]+, raised by \d of 4 branches$/);

      const judgement = await structured(QualityJudgementSchema, QUALITY_JUDGEMENT).invoke(judgePrompt(synthesis, 4));
      expect(QualityJudgementSchema.parse(judgement)).toEqual(judgement);
      for (const key of ["coverage", "evidence", "consistency"] as const) {
        expect(judgement[key]).toBeGreaterThanOrEqual(0.85);
      }
      expect(judgement.actionability).toBeGreaterThanOrEqual(0.6);
      expect(judgeScore(judgement)).toBeGreaterThanOrEqual(0.85);
    });

    it.each(["x", "asdf qwer zxcv", "🙂🙂🙂 ??? !!!"])(
      "judges the findings for the nonsense task %j below 0.8",
      async (task) => {
        const { judgement } = await judgedPipeline(task);
        expect(judgeScore(judgement)).toBeLessThan(0.8);
        expect(judgement.coverage).toBeLessThan(0.5);
        expect(judgement.issues.join(" ")).toMatch(/names no subject a finding could address/);
      },
    );

    describe("judge score ranges", () => {
      it("a strong result: on the task, evidenced, consistent, saying what to do", async () => {
        const judgement = await judge(
          written(
            [
              [
                "Hydroponic rooftop farming should start with leafy crops, whose yields repay the water costs fastest",
                "b1-research-technical",
              ],
              [
                "Regulatory risks for urban rooftop farms are permits and roof load limits; schedule the structural survey early",
                "b2-research-market",
              ],
              [
                "Crop yields per square metre on hydroponic rooftops beat soil beds, so invest in vertical racks",
                "b3-research-competitive",
              ],
            ],
            [
              ["Rooftop hydroponic pilots report water costs 70% below soil farming", "b1-research-technical"],
              ["City permits for rooftop farms cite roof load and drainage regulations", "b2-research-market"],
              ["Hydroponic lettuce yields reach twice the yield of urban soil beds", "b3-research-competitive"],
            ],
          ),
        );
        expect(judgeScore(judgement)).toBeGreaterThanOrEqual(0.9);
        expect(judgement.issues).toEqual([]);
      });

      it("a middling result: part of the task, thin evidence, little advice", async () => {
        const judgement = await judge(
          written(
            [
              ["Hydroponic rooftop farms grow crops without soil", "b1-research-technical"],
              ["Urban rooftop water costs vary by city", "b2-research-market"],
            ],
            [["Hydroponic rooftop farms use nutrient solutions", "b1-research-technical"]],
          ),
          2,
        );
        expect(judgeScore(judgement)).toBeGreaterThan(0.5);
        expect(judgeScore(judgement)).toBeLessThan(0.8);
        expect(judgement.issues.join(" ")).toMatch(/lack supporting evidence on the task/);
      });

      it("an off-topic result: 'Bananas are yellow'", async () => {
        const judgement = await judge(
          written(
            [["Bananas are yellow", "b1-research-technical"]],
            [["Bananas contain potassium", "b1-research-technical"]],
          ),
          1,
        );
        expect(judgeScore(judgement)).toBeLessThan(0.5);
        expect(judgement.coverage).toBeLessThan(0.3);
        expect(judgement.issues.join(" ")).toMatch(/1 of 1 primary findings are off the task's subject/);
      });

      it("a contradictory result: findings that negate each other", async () => {
        const judgement = await judge(
          written(
            [
              [
                "Hydroponic rooftop farming is profitable for urban growers once water costs are controlled",
                "b1-research-technical",
              ],
              [
                "Hydroponic rooftop farming is not profitable for urban growers once water costs are controlled",
                "b2-research-market",
              ],
              ["Crop yields on rooftops contradict the regulatory risk estimates", "b3-research-competitive"],
            ],
            [
              ["Rooftop hydroponic pilots report water costs 70% below soil farming", "b1-research-technical"],
              ["Urban hydroponic growers report thin margins after water costs", "b2-research-market"],
              ["Regulatory risks for rooftop crop yields vary by city", "b3-research-competitive"],
            ],
          ),
        );
        expect(judgement.consistency).toBeLessThanOrEqual(0.7);
        expect(judgeScore(judgement)).toBeLessThan(0.8);
        expect(judgement.issues.join(" ")).toMatch(/contradict each other/);
      });

      it("an empty result", async () => {
        const judgement = await judge(written([]), 0);
        expect(judgeScore(judgement)).toBeLessThan(0.2);
      });
    });

    it("merges nothing when no branch is in the prompt, and judges an empty result low", async () => {
      const synthesis = await structured(MergeSynthesisSchema, MERGE_SYNTHESIS).invoke(
        "Synthesise these results:\n\n(none)",
      );
      expect(synthesis).toMatchObject({ primaryFindings: [], supportingEvidence: [] });

      const judgement = await structured(QualityJudgementSchema, QUALITY_JUDGEMENT).invoke(
        judgePrompt({ summary: "No research branch succeeded.", primaryFindings: [], supportingEvidence: [] }, 0),
      );
      for (const key of ["coverage", "evidence", "consistency", "actionability"] as const) {
        expect(judgement[key]).toBeLessThan(0.3);
      }
      expect(judgement.issues.length).toBeGreaterThan(0);
    });
  });

  describe("tools", () => {
    const Itinerary = z.object({
      city: z.string(),
      days: z.number().int().min(1).max(14),
      budget: z.enum(["low", "medium", "high"]),
      stops: z.array(z.object({ place: z.string(), hours: z.number().min(0.5).max(8) })),
      tags: z.array(z.string()).min(3),
      travellers: z.number().int(),
      departs: z.iso.datetime(),
      contact: z.email(),
      note: z.string().nullable().optional(),
    });

    it("answers tools no skill knows from their schema and the prompt", async () => {
      const plan = await new OfflineChatModel()
        .withStructuredOutput(Itinerary, { name: "plan_itinerary" })
        .invoke("Plan a weekend in Lisbon around hydroponic markets and tiled facades.");
      expect(Itinerary.parse(plan)).toEqual(plan);
      expect(plan.stops).toHaveLength(2);
      expect(plan.tags).toHaveLength(3);
      // zod states `.int()` as the whole safe-integer range; the answer stays small.
      expect(Math.abs(plan.travellers)).toBeLessThan(100);
      expect(JSON.stringify(plan)).toMatch(/hydroponic markets|tiled facades|Lisbon/);
    });

    it("calls bound LangChain tools, then answers in words once the tool has replied", async () => {
      const lookup = tool(async () => "", {
        name: "lookup_crop",
        description: "Look up a crop's growing conditions",
        schema: z.object({ crop: z.string() }),
      });
      const model = new OfflineChatModel().bindTools([lookup]);
      const question = new HumanMessage("What does basil need in a hydroponic rooftop farm?");
      const call = await model.invoke([question]);
      expect(call.tool_calls).toHaveLength(1);
      expect(call.tool_calls![0]).toMatchObject({ name: "lookup_crop", type: "tool_call" });
      expect(typeof call.tool_calls![0]!.args.crop).toBe("string");

      const answer = await model.invoke([
        question,
        new AIMessage({ content: "", tool_calls: call.tool_calls }),
        new ToolMessage({
          content: "Basil needs 14 hours of light and warm water.",
          tool_call_id: call.tool_calls![0]!.id!,
        }),
      ]);
      expect(answer.tool_calls ?? []).toEqual([]);
      expect(answer.content).toContain("Basil needs 14 hours of light");
    });

    it("honours tool_choice", async () => {
      const tools = [
        { type: "function", function: { name: "first_tool", parameters: { type: "object", properties: {} } } },
        { type: "function", function: { name: "second_tool", parameters: { type: "object", properties: {} } } },
      ];
      const model = new OfflineChatModel();
      const named = await model.bindTools(tools, { tool_choice: "second_tool" }).invoke("Hello there, tools.");
      expect(named.tool_calls![0]!.name).toBe("second_tool");
      const none = await model.bindTools(tools, { tool_choice: "none" }).invoke("Hello there, tools.");
      expect(none.tool_calls ?? []).toEqual([]);
      await expect(model.bindTools(tools, { tool_choice: "third_tool" }).invoke("Hi")).rejects.toThrow(/third_tool/);
    });

    it("picks the tool that fits the request when the choice is its own", async () => {
      const tools = [
        { name: "weather_lookup", description: "Current weather for a city", parameters: { type: "object" } },
        { name: "crop_prices", description: "Wholesale prices for a crop", parameters: { type: "object" } },
      ];
      const reply = await new OfflineChatModel().bindTools(tools).invoke("What are basil wholesale prices this week?");
      expect(reply.tool_calls![0]!.name).toBe("crop_prices");
    });
  });
});

describe("offline knobs", () => {
  /** A tiny graph: `planner` fans out to two `worker` runs; only the planner passes its config on. */
  function tinyGraph(model = new OfflineChatModel()) {
    const State = Annotation.Root({
      replies: Annotation<string[]>({ reducer: (a, b) => a.concat(b), default: () => [] }),
    });
    return new StateGraph(State)
      .addNode("planner", async (_state, config) => {
        const reply = await model.invoke("Plan the hydroponic rooftop work.", config);
        return { replies: [String(reply.content)] };
      })
      .addNode("worker", async () => {
        const reply = await model.invoke([new HumanMessage("Do one part of the rooftop work.")]);
        return { replies: [String(reply.content)] };
      })
      .addEdge("__start__", "planner")
      .addConditionalEdges("planner", () => [new Send("worker", {}), new Send("worker", {})])
      .compile();
  }

  it("sees the LangGraph node of every call, with or without the node's config", async () => {
    await tinyGraph().invoke({});
    await new OfflineChatModel().invoke("Outside any graph.");
    expect(offlineCallCounts()).toEqual({ planner: 1, worker: 2, "(none)": 1 });
  });

  it("logs every call as a JSON line, for counting across processes", async () => {
    const log = path.join(mkdtempSync(path.join(tmpdir(), "offline-log-")), "calls.jsonl");
    vi.stubEnv("ORCHESTRA_OFFLINE_CALL_LOG", log);
    await tinyGraph().invoke({});
    await structured(BranchFindingsSchema, BRANCH_FINDINGS).invoke(branchPrompt());
    const entries = readFileSync(log, "utf8")
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as CallLogEntry);
    expect(entries.map((e) => [e.node, e.tool])).toEqual([
      ["planner", null],
      ["worker", null],
      ["worker", null],
      ["(none)", BRANCH_FINDINGS],
    ]);
    // Inside a graph each call names its task; the two worker calls are two tasks.
    expect(entries.slice(0, 3).every((e) => /^[0-9a-f-]{36}$/.test(e.task ?? ""))).toBe(true);
    expect(new Set(entries.slice(0, 3).map((e) => e.task)).size).toBe(3);
    expect(entries[3]!.task).toBeNull();
    for (const entry of entries) {
      expect(entry.pid).toBe(process.pid);
      expect(Date.parse(entry.at)).not.toBeNaN();
    }
  });

  it("applies the configured latency to each call", async () => {
    vi.stubEnv("ORCHESTRA_OFFLINE_LATENCY_MS", "120");
    const started = performance.now();
    await new OfflineChatModel().invoke("Slow hydroponic answer.");
    // Timers have whole-millisecond resolution; allow the rounding, nothing more.
    expect(performance.now() - started).toBeGreaterThanOrEqual(119);
  });

  it("lets a signal cut the latency short", async () => {
    vi.stubEnv("ORCHESTRA_OFFLINE_LATENCY_MS", "600000");
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 20);
    await expect(new OfflineChatModel().invoke("Never mind.", { signal: controller.signal })).rejects.toThrow(/abort/i);
  });

  it("fails a node's first N calls, then answers", async () => {
    vi.stubEnv("ORCHESTRA_OFFLINE_FAULTS", JSON.stringify({ flaky: { fail: 2 } }));
    const model = new OfflineChatModel();
    const graph = new StateGraph(Annotation.Root({ reply: Annotation<string> }))
      .addNode("flaky", async () => ({ reply: String((await model.invoke("Check the rooftop pumps.")).content) }))
      .addEdge("__start__", "flaky")
      .compile();
    await expect(graph.invoke({})).rejects.toThrow("offline fault: flaky call 1 of 2 planned failures");
    await expect(graph.invoke({})).rejects.toThrow("offline fault: flaky call 2 of 2 planned failures");
    expect((await graph.invoke({})).reply).toMatch(/^\[offline\] Check the rooftop pumps/);
    // The plan is per node: the same model elsewhere is unaffected.
    await expect(model.invoke("Outside the graph.")).resolves.toBeTruthy();
    expect(offlineCallCounts()).toEqual({ flaky: 3, "(none)": 1 });
  });

  it("answers a node's first N calls weakly: shallow and off the task, then on it", async () => {
    vi.stubEnv("ORCHESTRA_OFFLINE_FAULTS", JSON.stringify({ lazy_branch: { weak: 1 } }));
    const ask = () =>
      inNode("lazy_branch", () => structured(BranchFindingsSchema, BRANCH_FINDINGS).invoke(branchPrompt()));
    const weak = await ask();
    expect(weak.findings).toHaveLength(1);
    expect(JSON.stringify(weak)).not.toMatch(/hydroponic/i);
    expect(weak.confidence).toBeLessThan(0.5);
    const strong = await ask();
    expect(JSON.stringify(strong)).toMatch(/hydroponic/i);
    expect(strong.confidence).toBeGreaterThan(0.8);
    // Other nodes are unaffected.
    expect((await findingsFor("b1-research-technical")).confidence).toBeGreaterThan(0.8);
  });

  it("keeps every answer of a node weak with weak: true, whatever the tool", async () => {
    vi.stubEnv("ORCHESTRA_OFFLINE_FAULTS", JSON.stringify({ lazy: { weak: true } }));
    for (let i = 0; i < 3; i++) {
      const findings = await inNode("lazy", () =>
        structured(BranchFindingsSchema, BRANCH_FINDINGS).invoke(branchPrompt()),
      );
      expect(findings.confidence).toBeLessThan(0.5);
    }
    const text = await inNode("lazy", () => new OfflineChatModel().invoke("Summarise the hydroponic rooftop costs."));
    expect(text.content).not.toMatch(/hydroponic/i);
    const synthesis = await inNode("lazy", async () =>
      structured(MergeSynthesisSchema, MERGE_SYNTHESIS).invoke(
        mergePrompt([["b1-research-technical", await findingsFor("b1")]]),
      ),
    );
    expect(synthesis.primaryFindings).toEqual([]);
  });

  it("hangs a node's calls until their signal aborts", async () => {
    vi.stubEnv("ORCHESTRA_OFFLINE_FAULTS", JSON.stringify({ planner: { hang: true } }));
    await expect(tinyGraph().invoke({}, { signal: AbortSignal.timeout(100) })).rejects.toThrow(/abort|timeout/i);
    expect(offlineCallCounts()).toEqual({ planner: 1 });
    // Other nodes and calls outside the graph are untouched.
    await expect(new OfflineChatModel().invoke("Still here?")).resolves.toBeTruthy();
  });

  it.each([
    ["not JSON", "{worker: fail}"],
    ["a list", "[1]"],
    ["a negative count", '{"worker": {"fail": -1}}'],
    ["an unknown fault", '{"worker": {"explode": true}}'],
    ["hang: false", '{"worker": {"hang": false}}'],
    ["weak: false", '{"worker": {"weak": false}}'],
    ["a negative weak count", '{"worker": {"weak": -1}}'],
  ])("rejects a fault plan that is %s when the model is made", (_, plan) => {
    vi.stubEnv("ORCHESTRA_OFFLINE_FAULTS", plan);
    const error = thrown(() => createChatModel("offline"));
    expect(error).toBeInstanceOf(InputError);
    expect(error.message).toMatch(/^invalid ORCHESTRA_OFFLINE_FAULTS/);
  });

  it("rejects a latency that is not a number of milliseconds", () => {
    vi.stubEnv("ORCHESTRA_OFFLINE_LATENCY_MS", "soon");
    expect(thrown(() => new OfflineChatModel())).toBeInstanceOf(InputError);
  });
});
