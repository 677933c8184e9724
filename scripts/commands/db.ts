import type { Command } from "commander";
import type { TablePresence } from "../../db/migrate.js";
import { examples, JSON_OPTION, printJson, subcommand, withCheckpointer, type JsonOption } from "./shared.js";

export type DbOptions = JsonOption;

export function register(program: Command): void {
  const db = subcommand(program, "db")
    .description("Where the checkpoints live, and their tables.")
    .addHelpText("after", examples("orchestra db status", "orchestra db migrate"));
  db.command("status")
    .description(
      "Show where the checkpointer lives (password masked), whether its tables are set up, and what they hold.",
    )
    .option(...JSON_OPTION)
    .addHelpText("after", examples("orchestra db status", "DATABASE_URL=postgres://... orchestra db status --json"))
    .action(async (options: DbOptions) => {
      const [{ databaseStatus }, { tablePresence }] = await Promise.all([
        import("../../db/status.js"),
        import("../../db/migrate.js"),
      ]);
      const status = await withCheckpointer(
        async (db) => ({ ...(await databaseStatus(db)), tables: await tablePresence(db.pool, db.schema) }),
        { migrate: false },
      );
      if (options.json) printJson(status);
      else {
        process.stdout.write(
          [
            `location:    ${status.location}`,
            `schema:      ${status.schema}`,
            `tables:      ${status.migrations === null ? "not set up: run 'orchestra db migrate'" : `set up (${status.migrations} migrations applied)`}`,
            ...(status.migrations === null
              ? []
              : [
                  `threads:     ${status.threads}`,
                  `checkpoints: ${status.checkpoints}`,
                  `size:        ${status.bytes} bytes`,
                ]),
            ...tableLines(status.tables),
          ].join("\n") + "\n",
        );
      }
    });
  db.command("migrate")
    .description(
      "Create or complete every table the product uses: the checkpoints (LangGraph's PostgresSaver.setup()), the server's, agent statistics, enterprise controls and definition versions; safe to repeat.",
    )
    .option(...JSON_OPTION)
    .addHelpText(
      "after",
      examples(
        "orchestra db migrate",
        "DATABASE_URL=postgres://... ORCHESTRA_DB_SCHEMA=team_a orchestra db migrate --json",
      ),
    )
    .action(async (options: DbOptions) => {
      const [{ databaseStatus }, { migrateAll, tablePresence }] = await Promise.all([
        import("../../db/status.js"),
        import("../../db/migrate.js"),
      ]);
      const status = await withCheckpointer(async (db) => {
        await migrateAll(db.pool, db.schema);
        return { ...(await databaseStatus(db)), tables: await tablePresence(db.pool, db.schema) };
      });
      if (options.json) printJson(status);
      else
        process.stdout.write(
          `tables ready in schema ${status.schema} at ${status.location} (${status.migrations} checkpoint migrations applied)\n${tableLines(status.tables).join("\n")}\n`,
        );
    });
}

/** One line per group of tables: present, or which are missing and how to create them. */
function tableLines(tables: readonly TablePresence[]): string[] {
  const groups = [...new Set(tables.map((t) => t.group))];
  return groups.map((group) => {
    const own = tables.filter((t) => t.group === group);
    const missing = own.filter((t) => !t.present).map((t) => t.table);
    const state = missing.length
      ? `missing ${missing.join(", ")}: run 'orchestra db migrate'`
      : own.map((t) => t.table).join(", ");
    return `  ${`${group}:`.padEnd(21)}${state}`;
  });
}
