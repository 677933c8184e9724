import type pg from "pg";
import { BREAKERS_TABLE } from "../breakers.js";
import type { WorkflowStorage } from "../../state/shared/workflow_definition.js";
import { SLA_ALERTS_TABLE, migrateEnterpriseControls } from "./controls.js";
import { migrateDefinitionVersions } from "./definition_versions.js";

/** The engine's tables, as graphs/registry.ts declares them. */
export const enterpriseWorkflowStorage: WorkflowStorage = {
  tables: {
    "enterprise controls": ["enterprise_control_requests", BREAKERS_TABLE, SLA_ALERTS_TABLE],
    "definition versions": ["workflow_definition_versions"],
  },
  async migrate(pool: pg.Pool, schema: string) {
    await migrateEnterpriseControls(pool, schema);
    await migrateDefinitionVersions(pool, schema);
  },
};
