import pg from "pg";
import {
  PostgresEnterpriseControls,
  migrateEnterpriseControls,
} from "../../checkpoints/enterprise_workflow/controls.js";
import { engineServices, type EngineServices } from "../../nodes/enterprise_workflow/services.js";
import type { TestSchema } from "./database.js";

/** The engine's controls in the test's own schema, so pause, cancel and breakers stay inside it and go with cleanup. */
export async function testEngineServices(
  db: TestSchema,
  overrides: Partial<Omit<EngineServices, "controls">> = {},
): Promise<{ services: EngineServices; controls: PostgresEnterpriseControls; close(): Promise<void> }> {
  const pool = new pg.Pool({ connectionString: db.databaseUrl, max: 4 });
  await migrateEnterpriseControls(pool, db.schema);
  const controls = new PostgresEnterpriseControls(pool, db.schema);
  return { services: engineServices(controls, overrides), controls, close: () => pool.end() };
}
