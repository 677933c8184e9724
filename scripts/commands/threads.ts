import { Option, type Command } from "commander";
import { InputError } from "../../state/shared/errors.js";
import type { RunStatus } from "../runner.js";
import { examples, JSON_OPTION, printJson, subcommand, withWorkflow, type JsonOption } from "./shared.js";

const STATUSES: RunStatus[] = ["interrupted", "completed", "failed", "rejected", "running"];

export interface ThreadsOptions extends JsonOption {
  status?: RunStatus;
  limit: number;
}

const positiveInteger = (flag: string) => (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InputError(`${flag} must be a positive integer, got '${value}'`);
  return n;
};

export function register(program: Command): void {
  subcommand(program, "threads")
    .description("List threads from the checkpointer, newest first, with their workflow (an engine thread: its definition) and status.")
    .addOption(new Option("--status <status>", "only threads with this status").choices(STATUSES))
    .option("--limit <n>", "at most this many threads", positiveInteger("--limit"), 20)
    .option(...JSON_OPTION)
    .addHelpText("after", examples("orchestra threads", "orchestra threads --status interrupted --limit 5", "orchestra threads --json | jq '.[].threadId'"))
    .action(async (options: ThreadsOptions) => {
      const [{ listThreads }, { renderThreads }, { describeEngineThread, isEngineThread, openEngine }] = await Promise.all([
        import("../inspect.js"),
        import("../render.js"),
        import("../engine_cli.js"),
      ]);
      const rows = await withWorkflow(async ({ workflow, db }) => {
        const { engine } = await openEngine(db);
        const describeOther = async (threadId: string) => ((await isEngineThread(db, threadId)) ? describeEngineThread(engine, threadId) : undefined);
        return listThreads(workflow, db.pool, db.schema, { limit: options.limit, describeOther, ...(options.status ? { status: options.status } : {}) });
      });
      if (options.json) printJson(rows);
      else process.stdout.write(renderThreads(rows) + "\n");
    });
}
