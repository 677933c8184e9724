import { BRANCH_NODES } from "../../state/parallel_workflow/branches.js";
import { taskQueueInput } from "../../state/shared/tasks.js";
import type { WorkflowManifest } from "../shared/manifest.js";

export const parallelWorkflowManifest = {
  name: "parallel_workflow",
  description: "Parallel multi-agent research: branches fan out, synchronise, merge and pass a quality gate",
  servedGraph: "./graphs/parallel_workflow.ts:graph",
  nodes: [
    "task_analyzer",
    "parallel_coordinator",
    // From the branch table, a module of plain data: a new branch type is one row there.
    ...BRANCH_NODES,
    "sync_point_manager",
    "load_balancer",
    "branch_merger",
    "quality_validator",
    "final_integrator",
  ],
  load: async () => (await import("../parallel_workflow.js")).parallelWorkflow,
  mapInput: taskQueueInput,
  offlineSkills: async () => (await import("../../models/parallel_workflow/skills.js")).PARALLEL_WORKFLOW_SKILLS,
  cli: async () => (await import("../../scripts/parallel_workflow/cli.js")).parallelWorkflowCli,
} as const satisfies WorkflowManifest;
