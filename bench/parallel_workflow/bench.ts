import type { BenchSettings, WorkflowBench } from "../workflows.js";
import { runBench, type BenchOptions } from "./harness.js";
import { renderMarkdown } from "./report.js";

/** The research workflow's figures in `npm run bench`: every section, the API server's with 1 and 2 processes. */
export const parallelWorkflowBench: WorkflowBench = {
  workflow: "parallel_workflow",
  title: "Research workflow",
  async run(settings: BenchSettings) {
    const options: Partial<BenchOptions> = {
      serverProcesses: [1, 2],
      wideRuns: settings.quick ? 0 : 300,
      ...(settings.quick
        ? { repeats: 2, branches: [5, 20], floorBranches: [5, 20], threads: [1, 10], createPairs: 50 }
        : {}),
      ...(settings.repeats ? { repeats: settings.repeats } : {}),
      ...(settings.latencyMs ? { latencyMs: settings.latencyMs } : {}),
      ...(settings.progress ? { progress: settings.progress } : {}),
    };
    const figures = await runBench(options);
    return { figures, markdown: renderMarkdown(figures) };
  },
};
