import { HumanMessage } from "@langchain/core/messages";
import { describe, expect, it } from "vitest";
import { createChatModel } from "../models/index.js";
import { OfflineChatModel } from "../models/offline/model.js";
import { offlineSkillTable, SHARED_SKILLS } from "../models/offline/skills.js";
import { PARALLEL_WORKFLOW_SKILLS } from "../models/parallel_workflow/skills.js";
import { TASK_ANALYSIS, TaskAnalysisSchema } from "../state/parallel_workflow/outputs.js";

const PROMPT = [
  new HumanMessage(
    "Task queue:\n1. Compare vector databases for a 10M-document search service\n2. Estimate hosting costs",
  ),
];
const analyse = (model: { withStructuredOutput: OfflineChatModel["withStructuredOutput"] }) =>
  model.withStructuredOutput(TaskAnalysisSchema, { name: TASK_ANALYSIS }).invoke(PROMPT);

describe("the offline model's skills", () => {
  it("come from the model factory's set-up, not from importing a graph", async () => {
    await import("../graphs/parallel_workflow.js");
    const bySkill = await analyse(
      new OfflineChatModel({ skills: async () => offlineSkillTable([PARALLEL_WORKFLOW_SKILLS]) }),
    );
    // A graph imported registers nothing: a model given no workflow's skills fills the schema.
    expect(await analyse(new OfflineChatModel())).not.toEqual(bySkill);
    // The factory's offline model is given every registered workflow's skills, from their manifests.
    expect(await analyse(createChatModel("offline") as OfflineChatModel)).toEqual(bySkill);
  });

  it("refuse a tool name two workflows answer: one name, one answer", () => {
    const [name, skill] = Object.entries(PARALLEL_WORKFLOW_SKILLS)[0]!;
    expect(() => offlineSkillTable([PARALLEL_WORKFLOW_SKILLS, { [name]: (...args) => skill(...args) }])).toThrow(
      `offline skill '${name}' is answered by two workflows`,
    );
    expect(Object.keys(offlineSkillTable([]))).toEqual(Object.keys(SHARED_SKILLS));
  });
});
