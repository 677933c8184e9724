import type { WorkflowStorage } from "../../state/shared/workflow_definition.js";
import { AGENT_RUNS_TABLE, setUpAgentStats } from "./agent_stats.js";

/** The dynamic agents' tables, as graphs/registry.ts declares them. */
export const dynamicAgentsStorage: WorkflowStorage = {
  tables: { "agent stats": [AGENT_RUNS_TABLE] },
  migrate: setUpAgentStats,
};
