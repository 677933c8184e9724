// Runs an engine thread in a process of its own, for the engine's crash and deadline tests:
//   node --import tsx tests/support/enterprise_child.ts run <threadId> <definition file> [input JSON]
//   node --import tsx tests/support/enterprise_child.ts resume <threadId>
// DATABASE_URL and ORCHESTRA_DB_SCHEMA choose the checkpoints; the offline model's knobs come from
// the environment. Prints the run's summary as one JSON line when the run ends.
import { compileEnterpriseWorkflow } from "../../graphs/enterprise_workflow.js";
import { openCheckpointer } from "../../checkpoints/index.js";
import { loadDefinitionFile } from "../../state/enterprise_workflow/loader.js";
import { runSummary } from "../../state/enterprise_workflow/report.js";

const [command, threadId, file, input] = process.argv.slice(2);
const { checkpointer, close } = await openCheckpointer();
const workflow = compileEnterpriseWorkflow(checkpointer);
const config = { configurable: { thread_id: threadId!, model: "offline" } };
const given =
  command === "run" ? { definition: await loadDefinitionFile(file!), input: input ? JSON.parse(input) : {} } : null;
await workflow.invoke(given, config);
const snapshot = await workflow.getState(config);
console.log(JSON.stringify(runSummary(threadId!, snapshot.values as Parameters<typeof runSummary>[1], snapshot.next)));
await close();
