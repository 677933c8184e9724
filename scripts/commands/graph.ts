import { Option, type Command } from "commander";
import { examples, JSON_OPTION, printJson, subcommand, type JsonOption } from "./shared.js";

export interface GraphOptions extends JsonOption {
  format: "mermaid" | "ascii";
}

export function register(program: Command): void {
  subcommand(program, "graph")
    .description("Print the workflow's diagram (the diagram in docs/workflows.md is this output).")
    .addOption(new Option("--format <format>", "diagram format").choices(["mermaid", "ascii"]).default("mermaid"))
    .option(...JSON_OPTION)
    .addHelpText("after", examples("orchestra graph > workflow.mmd", "orchestra graph --format ascii"))
    .action(async (options: GraphOptions) => {
      const [{ DEFAULT_WORKFLOW, loadWorkflow }, { MemorySaver }, { drawAscii }] = await Promise.all([
        import("../../graphs/registry.js"),
        import("@langchain/langgraph"),
        import("../render.js"),
      ]);
      // Drawn from the graph alone: the checkpointer is never used.
      const drawing = await (await loadWorkflow(DEFAULT_WORKFLOW)).compile(new MemorySaver()).getGraphAsync();
      if (options.json) {
        printJson({
          nodes: Object.keys(drawing.nodes),
          edges: drawing.edges.map(({ source, target, conditional }) => ({
            source,
            target,
            conditional: !!conditional,
          })),
        });
      } else {
        process.stdout.write((options.format === "ascii" ? drawAscii(drawing) : drawing.drawMermaid()) + "\n");
      }
    });
}
