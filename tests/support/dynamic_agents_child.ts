// Runs a dynamic-agents thread in a process of its own, for the crash and learning tests:
//   node --import tsx tests/support/dynamic_agents_child.ts run <threadId> <task queue JSON>
//   node --import tsx tests/support/dynamic_agents_child.ts resume <threadId>
// DATABASE_URL and ORCHESTRA_DB_SCHEMA choose the database; the offline model's knobs come from the
// environment. Prints the agents' summary as one JSON line when the run ends.
import { agentStatsOn } from "../../checkpoints/dynamic_agents/agent_stats.js";
import { openCheckpointer } from "../../checkpoints/index.js";
import { compileDynamicAgents } from "../../graphs/dynamic_agents.js";
import { ledgerProblems } from "../../nodes/dynamic_agents/resources.js";
import { summariseAgents } from "../../nodes/dynamic_agents/summary.js";
import type { DynamicAgentsStateType } from "../../state/dynamic_agents/state.js";

const [command, threadId, taskQueue] = process.argv.slice(2);
const { checkpointer, pool, schema, close } = await openCheckpointer();
const workflow = compileDynamicAgents(checkpointer, agentStatsOn(pool, schema));
const config = { configurable: { thread_id: threadId!, model: "offline", review: "never" } };
await workflow.invoke(command === "run" ? { taskQueue: JSON.parse(taskQueue!) } : null, config);
const { values, next } = await workflow.getState(config);
const state = values as DynamicAgentsStateType;
console.log(
  JSON.stringify({
    status: state.status,
    next,
    agents: summariseAgents(state.agents, state.agentResults),
    ledgerProblems: ledgerProblems(state.resourceLedger),
  }),
);
await close();
