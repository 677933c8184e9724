import type { Command } from "commander";
import { examples, JSON_OPTION, printJson, subcommand, withCheckpointer, type JsonOption } from "./shared.js";

export type DbOptions = JsonOption;

export function register(program: Command): void {
  const db = subcommand(program, "db")
    .description("Where the checkpoints live, and their tables.")
    .addHelpText("after", examples("orchestra db status", "orchestra db migrate"));
  db.command("status")
    .description("Show where the checkpointer lives (password masked), whether its tables are set up, and what they hold.")
    .option(...JSON_OPTION)
    .addHelpText("after", examples("orchestra db status", "DATABASE_URL=postgres://... orchestra db status --json"))
    .action(async (options: DbOptions) => {
      const { databaseStatus } = await import("../../checkpoints/status.js");
      const status = await withCheckpointer(databaseStatus, { migrate: false });
      if (options.json) printJson(status);
      else {
        process.stdout.write(
          [
            `location:    ${status.location}`,
            `schema:      ${status.schema}`,
            `tables:      ${status.migrations === null ? "not set up: run 'orchestra db migrate'" : `set up (${status.migrations} migrations applied)`}`,
            ...(status.migrations === null ? [] : [`threads:     ${status.threads}`, `checkpoints: ${status.checkpoints}`, `size:        ${status.bytes} bytes`]),
          ].join("\n") + "\n",
        );
      }
    });
  db.command("migrate")
    .description("Create or migrate the checkpoint tables (LangGraph's PostgresSaver.setup()), the engine's control tables and definition versions; safe to repeat.")
    .option(...JSON_OPTION)
    .addHelpText("after", examples("orchestra db migrate"))
    .action(async (options: DbOptions) => {
      const { databaseStatus } = await import("../../checkpoints/status.js");
      const [{ migrateEnterpriseControls }, { migrateDefinitionVersions }] = await Promise.all([
        import("../../checkpoints/enterprise_controls.js"),
        import("../../checkpoints/definition_versions.js"),
      ]);
      const status = await withCheckpointer(async (db) => {
        await migrateEnterpriseControls(db.pool, db.schema);
        await migrateDefinitionVersions(db.pool, db.schema);
        return databaseStatus(db);
      });
      if (options.json) printJson(status);
      else process.stdout.write(`checkpoint tables ready in schema ${status.schema} at ${status.location} (${status.migrations} migrations applied)\n`);
    });
}
