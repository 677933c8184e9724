import { taskQueueInput } from "../../state/shared/tasks.js";
import type { WorkflowManifest } from "../shared/manifest.js";

export const dynamicAgentsManifest = {
  name: "dynamic_agents",
  description: "Agents specified, selected and run at run time for each task, then coordinated",
  servedGraph: "./graphs/dynamic_agents.ts:graph",
  nodes: [
    "agent_generator",
    "dynamic_agent",
    "coordination",
    "sync_point_manager",
    "branch_merger",
    "quality_validator",
    "final_integrator",
  ],
  load: async () => (await import("../dynamic_agents.js")).dynamicAgents,
  mapInput: taskQueueInput,
  storage: async () => (await import("../../checkpoints/dynamic_agents/storage.js")).dynamicAgentsStorage,
  cli: async () => (await import("../../scripts/dynamic_agents/cli.js")).dynamicAgentsCli,
  commands: async () => [await import("../../scripts/dynamic_agents/commands/agents.js")],
} as const satisfies WorkflowManifest;
