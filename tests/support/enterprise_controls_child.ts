// Runs an engine thread in a process of its own, for the controls tests (pause, cancel, webhooks):
//   node --import tsx tests/support/enterprise_controls_child.ts run <threadId> <definition file|name> [input JSON]
//   node --import tsx tests/support/enterprise_controls_child.ts resume <threadId>
//   node --import tsx tests/support/enterprise_controls_child.ts resume-paused <threadId> <actor>
// DATABASE_URL and ORCHESTRA_DB_SCHEMA choose the checkpoints and the controls. Prints the audit
// trail as the audit command would, then the run's summary as one JSON line.
import { compileEnterpriseWorkflow } from "../../graphs/enterprise_workflow.js";
import { openCheckpointer } from "../../checkpoints/index.js";
import { resumePausedCommand } from "../../nodes/enterprise_workflow/approval.js";
import { loadDefinitionFile } from "../../state/enterprise_workflow/loader.js";
import { formatAuditTrail, runSummary } from "../../state/enterprise_workflow/report.js";
import type { EnterpriseState } from "../../state/enterprise_workflow/state.js";

const [command, threadId, target, input] = process.argv.slice(2);
const { checkpointer, close } = await openCheckpointer();
const workflow = compileEnterpriseWorkflow(checkpointer);
const config = { configurable: { thread_id: threadId!, model: "offline" } };
if (command === "run") {
  const definition = target!.includes("/") ? await loadDefinitionFile(target!) : target!;
  await workflow.invoke({ definition, input: input ? JSON.parse(input) : {} }, config);
} else if (command === "resume-paused") {
  await workflow.invoke(resumePausedCommand(target!), config);
} else {
  await workflow.invoke(null, config);
}
const snapshot = await workflow.getState(config);
const values = snapshot.values as EnterpriseState;
console.log(formatAuditTrail(values.auditTrail));
console.log(JSON.stringify(runSummary(threadId!, values, snapshot.next)));
await close();
