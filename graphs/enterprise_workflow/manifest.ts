import type { WorkflowDefinition } from "../../state/shared/workflow_definition.js";
import type { WorkflowManifest } from "../shared/manifest.js";

export const enterpriseWorkflowManifest = {
  name: "enterprise_workflow",
  description: "The enterprise engine: runs a declarative workflow definition, given or named",
  servedGraph: "./graphs/enterprise_workflow.ts:graph",
  nodes: [
    "orchestrator",
    "llm_worker",
    "set_worker",
    "react_worker",
    "split_worker",
    "webhook_worker",
    "recovery_worker",
    "approval_worker",
    "event_worker",
    "pause_gate",
    "child_parallel_workflow",
    "child_dynamic_agents",
    "child_enterprise_workflow",
  ],
  // Its subworkflow steps run the other registered workflows: handed over by the registry, the engine imports none.
  load: async ({ otherWorkflows }): Promise<WorkflowDefinition> =>
    (await import("../enterprise_workflow.js")).enterpriseWorkflowWith(await otherWorkflows()),
  storage: async () => (await import("../../checkpoints/enterprise_workflow/storage.js")).enterpriseWorkflowStorage,
  variants: async () => (await import("../../metrics/enterprise_workflow/variants.js")).enterpriseVariants,
  triggers: async () => (await import("../../state/enterprise_workflow/triggers.js")).engineTriggers(),
  cli: async () => (await import("../../scripts/enterprise_workflow/cli.js")).enterpriseWorkflowCli,
  commands: async () =>
    Promise.all([
      import("../../scripts/enterprise_workflow/commands/workflow.js"),
      import("../../scripts/enterprise_workflow/commands/controls.js"),
      import("../../scripts/enterprise_workflow/commands/audit.js"),
      import("../../scripts/enterprise_workflow/commands/alerts.js"),
    ]),
} as const satisfies WorkflowManifest;
