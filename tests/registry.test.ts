import { readFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { DEFAULT_WORKFLOW, WORKFLOWS, servedGraphs, workflowDefinition } from "../graphs/registry.js";
import { InputError } from "../state/shared/errors.js";
import { PROJECT_ROOT } from "./support/cli.js";

describe("the workflow registry", () => {
  it("lists exactly the graphs langgraph.json serves, each from the module its definition names", async () => {
    const config = JSON.parse(await readFile(path.join(PROJECT_ROOT, "langgraph.json"), "utf8")) as { graphs: Record<string, string> };
    const fromRegistry = Object.fromEntries(Object.values(WORKFLOWS).map((d) => [d.name, d.servedGraph]));
    expect(config.graphs).toEqual(fromRegistry);
    for (const [name, definition] of Object.entries(WORKFLOWS)) expect(definition.name).toBe(name);
  });

  it("keeps parallel_workflow as the default, and refuses an unknown name with the names it knows", () => {
    expect(DEFAULT_WORKFLOW).toBe("parallel_workflow");
    expect(() => workflowDefinition("nope")).toThrow(InputError);
    expect(() => workflowDefinition("nope")).toThrow(/parallel_workflow, dynamic_agents, enterprise_workflow/);
  });

  it("gives orchestra serve the workflows whose definitions say how to serve them", () => {
    expect(servedGraphs().map((g) => g.graphId).sort()).toEqual(["dynamic_agents", "enterprise_workflow", "parallel_workflow"]);
  });
});
