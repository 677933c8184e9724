import { MemorySaver } from "@langchain/langgraph";
import { describe, expect, it } from "vitest";
import { servedGraphs } from "../../graphs/registry.js";

// What `orchestra serve` and Studio draw: the drawing comes from the compiled graph alone, so an
// in-memory checkpointer serves; the statistics' database is opened only by a run.

describe("the served dynamic_agents graph", () => {
  it("is served, and draws the Send fan-out from agent_generator to dynamic_agent and on to coordination", async () => {
    const served = servedGraphs().find((graph) => graph.graphId === "dynamic_agents");
    expect(served).toBeDefined();
    const drawing = (await served!.compile(new MemorySaver()).getGraphAsync({ xray: true })).toJSON() as {
      nodes: { id: string }[];
      edges: { source: string; target: string; conditional: boolean }[];
    };
    expect(drawing.nodes.map((node) => node.id).sort()).toEqual(
      ["__end__", "__start__", "agent_generator", "branch_merger", "coordination", "dynamic_agent", "final_integrator", "quality_validator", "sync_point_manager"],
    );
    const edge = (source: string, target: string) => drawing.edges.find((e) => e.source === source && e.target === target);
    expect(edge("agent_generator", "dynamic_agent")).toMatchObject({ conditional: true });
    expect(edge("agent_generator", "coordination")).toMatchObject({ conditional: true });
    expect(edge("dynamic_agent", "coordination")).toMatchObject({ conditional: false });
    expect(edge("coordination", "sync_point_manager")).toMatchObject({ conditional: false });
    // Sends go only where the route says: a drawing without the route's targets would fan out to every node.
    expect(drawing.edges.filter((e) => e.source === "agent_generator").map((e) => e.target).sort()).toEqual(["coordination", "dynamic_agent"]);
  });
});
