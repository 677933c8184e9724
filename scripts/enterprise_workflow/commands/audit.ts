import type { Command } from "commander";
import { InputError } from "../../../state/shared/errors.js";
import {
  examples,
  JSON_OPTION,
  type JsonOption,
  printJson,
  subcommand,
  THREAD_ARGUMENT,
  withCheckpointer,
} from "../../commands/shared.js";

export function register(program: Command): void {
  subcommand(program, "audit")
    .description(
      "Print an engine thread's audit trail: every transition, decision, webhook call and compensation, with time and actor.",
    )
    .argument(...THREAD_ARGUMENT)
    .option(...JSON_OPTION)
    .addHelpText(
      "after",
      examples("orchestra audit 3f2c...", "orchestra audit 3f2c... --json | jq '.[] | select(.actor)'"),
    )
    .action(async (threadId: string, options: JsonOption) => {
      const [{ auditOf, formatAuditTrail, openEngine }, { isEngineThread }] = await Promise.all([
        import("../engine.js"),
        import("../cli.js"),
      ]);
      const entries = await withCheckpointer(async (db) => {
        if (!(await isEngineThread(db, threadId)))
          throw new InputError(
            `thread ${threadId} is not an engine workflow thread: 'orchestra threads' lists the threads and their workflows`,
          );
        return auditOf((await openEngine(db)).engine, threadId);
      });
      if (options.json) printJson(entries);
      else process.stdout.write(formatAuditTrail(entries) + "\n");
    });
}
