import * as agents from "./dynamic_agents/commands/agents.js";
import * as alerts from "./enterprise_workflow/commands/alerts.js";
import * as audit from "./enterprise_workflow/commands/audit.js";
import * as controls from "./enterprise_workflow/commands/controls.js";
import * as workflow from "./enterprise_workflow/commands/workflow.js";

/**
 * The commands only one workflow has, registered at start-up: each module only declares its
 * options and loads what it runs inside its action, so `--help` stays fast.
 */
export const WORKFLOW_COMMANDS = { agents, alerts, audit, controls, workflow } as const;
