import type { Command } from "commander";
import type { ControlKind } from "../../../checkpoints/enterprise_workflow/controls.js";
import { InputError } from "../../../state/shared/errors.js";
import {
  examples,
  JSON_OPTION,
  type JsonOption,
  printJson,
  reviewerName,
  type ReviewerOption,
  subcommand,
  THREAD_ARGUMENT,
  withCheckpointer,
} from "../../commands/shared.js";

/**
 * `orchestra pause` and `orchestra cancel`: a request in the database that the engine thread's run,
 * in whatever process, reads at its next step boundary.
 */

export type ControlOptions = JsonOption & ReviewerOption;

const WHAT: Record<ControlKind, string> = {
  pause: "stops at the next step boundary with status PAUSED; 'orchestra resume THREAD' continues it",
  cancel: "ends with status CANCELLED after running the completed steps' compensations",
};

async function requestControl(kind: ControlKind, threadId: string, options: ControlOptions): Promise<void> {
  const { isEngineThread } = await import("../cli.js");
  const { migrateEnterpriseControls, PostgresEnterpriseControls } = await import(
    "../../../checkpoints/enterprise_workflow/controls.js"
  );
  const actor = reviewerName(options);
  const request = await withCheckpointer(async (db) => {
    if (!(await isEngineThread(db, threadId))) {
      throw new InputError(
        `thread ${threadId} is not an engine workflow thread: ${kind} works on threads started by 'orchestra workflow run' ('orchestra threads' lists them)`,
      );
    }
    await migrateEnterpriseControls(db.pool, db.schema);
    return new PostgresEnterpriseControls(db.pool, db.schema).request(threadId, kind, actor);
  });
  if (options.json) printJson(request);
  else process.stdout.write(`${kind} requested for thread ${threadId} by ${actor}: the run ${WHAT[kind]}\n`);
}

export function register(program: Command): void {
  for (const kind of ["pause", "cancel"] as const) {
    subcommand(program, kind)
      .description(`Ask a running engine workflow to ${kind}, from any process: it ${WHAT[kind]}.`)
      .argument(...THREAD_ARGUMENT)
      .option("--reviewer <name>", "the actor recorded in the audit trail (default: your OS user)")
      .option(...JSON_OPTION)
      .addHelpText(
        "after",
        examples(`orchestra ${kind} 3f2c...`, `orchestra ${kind} 3f2c... --reviewer ops-oncall --json`),
      )
      .action(async (threadId: string, options: ControlOptions) => {
        await requestControl(kind, threadId, options);
      });
  }
}
