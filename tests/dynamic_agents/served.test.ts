import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { MemorySaver } from "@langchain/langgraph";
import { afterAll, describe, expect, it } from "vitest";
import { servedGraphs } from "../../graphs/registry.js";
import { jsonResult, runCli } from "../support/cli.js";
import { createTestSchema, type TestSchema } from "../support/database.js";
import { startServer, type ServerProcess } from "../server/support.js";

// What `orchestra serve` and Studio draw: the drawing comes from the compiled graph alone, so an
// in-memory checkpointer serves; the statistics' database is opened only by a run.

describe("the served dynamic_agents graph", () => {
  it("is served, and draws the Send fan-out from agent_generator to dynamic_agent and on to coordination", async () => {
    const served = (await servedGraphs()).find((graph) => graph.graphId === "dynamic_agents");
    expect(served).toBeDefined();
    const drawing = (await served!.compile(new MemorySaver()).getGraphAsync({ xray: true })).toJSON() as {
      nodes: { id: string }[];
      edges: { source: string; target: string; conditional: boolean }[];
    };
    expect(drawing.nodes.map((node) => node.id).sort()).toEqual([
      "__end__",
      "__start__",
      "agent_generator",
      "branch_merger",
      "coordination",
      "dynamic_agent",
      "final_integrator",
      "quality_validator",
      "sync_point_manager",
    ]);
    const edge = (source: string, target: string) =>
      drawing.edges.find((e) => e.source === source && e.target === target);
    expect(edge("agent_generator", "dynamic_agent")).toMatchObject({ conditional: true });
    expect(edge("agent_generator", "coordination")).toMatchObject({ conditional: true });
    expect(edge("dynamic_agent", "coordination")).toMatchObject({ conditional: false });
    expect(edge("coordination", "sync_point_manager")).toMatchObject({ conditional: false });
    // Sends go only where the route says: a drawing without the route's targets would fan out to every node.
    expect(
      drawing.edges
        .filter((e) => e.source === "agent_generator")
        .map((e) => e.target)
        .sort(),
    ).toEqual(["coordination", "dynamic_agent"]);
  });
});

describe("orchestra serve with a dynamic_agents thread the CLI started", () => {
  let db: TestSchema | undefined;
  let server: ServerProcess | undefined;
  let dir: string | undefined;
  afterAll(async () => {
    await server?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
    await db?.cleanup();
  });

  it("adopts it as a dynamic_agents thread, though its nodes include the shared steps the research workflow has too", async () => {
    db = await createTestSchema();
    dir = await mkdtemp(path.join(os.tmpdir(), "orchestra-agents-served-"));
    const file = path.join(dir, "tasks.json");
    await writeFile(
      file,
      JSON.stringify({
        taskQueue: [{ description: "Survey open-source vector databases", type: "research", complexity: 0.9 }],
      }),
    );
    const run = await runCli(
      ["run", "--workflow", "dynamic_agents", "--task-file", file, "--review", "never", "--json"],
      { ORCHESTRA_DB_SCHEMA: db.schema, ORCHESTRA_MODEL: "offline" },
    );
    expect(run.code, run.stderr).toBe(0);
    const { threadId } = jsonResult(run);

    server = await startServer(db.schema);
    const thread = await server.client().threads.get(threadId);
    expect(thread.metadata).toMatchObject({ graph_id: "dynamic_agents", created_by: "cli" });
    const state = await server.client().threads.getState<{ agents: Record<string, unknown> }>(threadId);
    expect(Object.keys(state.values.agents)).toEqual([`${threadId}/agent-0`]);
  });

  it("takes a bare list of tasks as the task queue through the API, as the CLI does", async () => {
    const client = server!.client();
    const thread = await client.threads.create();
    // The SDK types an input as an object; the server takes what a task file may hold.
    const bareList = [
      {
        description: "Survey open-source vector databases for a 10M-document search service",
        type: "research",
        complexity: 0.9,
      },
      { description: "Survey managed vector search offerings and their pricing", type: "research", complexity: 0.85 },
      { description: "Analyse total cost of ownership of self-hosting versus managed vector search", type: "analysis" },
    ] as unknown as Record<string, unknown>;
    const values = await client.runs.wait(thread.thread_id, "dynamic_agents", {
      input: bareList,
      context: { review: "never" },
    });
    expect((values as { taskQueue?: unknown[] }).taskQueue).toHaveLength(3);
    expect((values as { status?: string }).status, JSON.stringify(values).slice(0, 400)).toBe("completed");
  });
});
