import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { MemorySaver } from "@langchain/langgraph";
import { describe, expect, it } from "vitest";
import {
  DEFAULT_WORKFLOW,
  WORKFLOWS,
  loadWorkflow,
  servedGraphs,
  workflowName,
  workflowNames,
  workflowOfReached,
} from "../graphs/registry.js";
import { workflowClis } from "../scripts/workflow_clis.js";
import { InputError } from "../state/shared/errors.js";
import { PROJECT_ROOT, runCli } from "./support/cli.js";

describe("the workflow registry", () => {
  it("lists exactly the graphs langgraph.json serves, each from the module its entry names", async () => {
    const config = JSON.parse(await readFile(path.join(PROJECT_ROOT, "langgraph.json"), "utf8")) as {
      graphs: Record<string, string>;
    };
    const fromRegistry = Object.fromEntries(workflowNames().map((name) => [name, WORKFLOWS[name].servedGraph]));
    expect(config.graphs).toEqual(fromRegistry);
    for (const name of workflowNames()) expect((await loadWorkflow(name)).name).toBe(name);
  });

  it("names each workflow's nodes as its compiled graph has them: threads are told apart by them", async () => {
    for (const name of workflowNames()) {
      const graph = (await loadWorkflow(name)).compile(new MemorySaver());
      expect([...WORKFLOWS[name].nodes].sort(), name).toEqual(
        Object.keys(graph.nodes)
          .filter((node) => node !== "__start__")
          .sort(),
      );
    }
  });

  it("tells a thread's workflow by every node it reached, the shared steps included", () => {
    expect(workflowOfReached(["task_analyzer", "sync_point_manager"])).toBe("parallel_workflow");
    expect(workflowOfReached(["agent_generator", "sync_point_manager", "quality_validator"])).toBe("dynamic_agents");
    expect(workflowOfReached(["orchestrator", "approval_worker"])).toBe("enterprise_workflow");
    expect(workflowOfReached([])).toBe(DEFAULT_WORKFLOW);
  });

  it("keeps parallel_workflow as the default, and refuses an unknown name with the names it knows", async () => {
    expect(DEFAULT_WORKFLOW).toBe("parallel_workflow");
    expect(() => workflowName("nope")).toThrow(InputError);
    await expect(loadWorkflow("nope")).rejects.toThrow(/parallel_workflow, dynamic_agents, enterprise_workflow/);
  });

  it("gives orchestra serve the workflows whose definitions say how to serve them", async () => {
    expect((await servedGraphs()).map((g) => g.graphId).sort()).toEqual([
      "dynamic_agents",
      "enterprise_workflow",
      "parallel_workflow",
    ]);
  });

  it("has a CLI for every registered workflow", async () => {
    expect([...(await workflowClis()).keys()]).toEqual(workflowNames());
  });

  it("is what the import rules call the workflows: each has its no-cross-workflow rule", () => {
    const rules = createRequire(import.meta.url)(path.join(PROJECT_ROOT, ".dependency-cruiser.cjs")) as {
      forbidden: { name: string }[];
    };
    const guarded = rules.forbidden.flatMap(({ name }) =>
      name.startsWith("no-cross-workflow-") ? [name.slice("no-cross-workflow-".length)] : [],
    );
    expect(guarded.sort()).toEqual([...workflowNames()].sort());
  });

  it("keeps each manifest under its own name, in graphs/<name>/manifest.ts", async () => {
    for (const name of workflowNames()) {
      expect(WORKFLOWS[name].name).toBe(name);
      const module: Record<string, unknown> = await import(
        /* @vite-ignore */ pathToFileURL(path.join(PROJECT_ROOT, "graphs", name, "manifest.ts")).href
      );
      expect(Object.values(module)).toContain(WORKFLOWS[name]);
    }
  });
});

describe("orchestra workflows", () => {
  it("lists every registered workflow, the default marked, descriptions in one column; --json gives the same rows", async () => {
    const text = await runCli(["workflows"]);
    expect(text.code).toBe(0);
    const lines = text.stdout.trimEnd().split("\n");
    expect(lines.map((line) => line.split(/\s+/)[0])).toEqual(workflowNames());
    expect(lines[workflowNames().indexOf(DEFAULT_WORKFLOW)]).toMatch(new RegExp(`^${DEFAULT_WORKFLOW} \\(default\\)`));
    const columns = lines.map((line, i) => line.indexOf(WORKFLOWS[workflowNames()[i]!].description));
    expect(new Set(columns).size).toBe(1);

    const listed = await runCli(["workflows", "--json"]);
    const rows: { name: string; default: boolean }[] = JSON.parse(listed.stdout);
    expect(rows.map((row) => row.name)).toEqual(workflowNames());
    expect(rows.filter((row) => row.default).map((row) => row.name)).toEqual([DEFAULT_WORKFLOW]);
  });
});
