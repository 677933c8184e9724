import { Option, type Command } from "commander";
import type pg from "pg";
import { InputError } from "../../state/shared/errors.js";
import type { RunStatus, ThreadRow } from "../workflow_cli.js";
import { examples, JSON_OPTION, printJson, subcommand, type JsonOption } from "./shared.js";

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

/**
 * Threads newest first, each listed by its workflow's CLI from its head checkpoint as the tables
 * hold it: no graph is compiled, or even loaded. The heads are read a page at a time, so a
 * --status filter reads only as far as it must.
 */
export async function listThreads(
  db: { pool: pg.Pool; schema: string },
  options: { status?: RunStatus; limit: number },
): Promise<ThreadRow[]> {
  const [{ threadsNewestFirst, threadHeads }, { workflowOfThread }, { workflowClis }] = await Promise.all([
    import("../../checkpoints/threads.js"),
    import("../../graphs/registry.js"),
    import("../workflow_clis.js"),
  ]);
  const clis = await workflowClis();
  const channels = [...new Set([...clis.values()].flatMap((cli) => cli.listedChannels))];
  const threads = await threadsNewestFirst(db.pool, db.schema);
  const rows: ThreadRow[] = [];
  const page = Math.max(options.limit, 20);
  for (let start = 0; start < threads.length && rows.length < options.limit; start += page) {
    const times = threads.slice(start, start + page);
    const heads = new Map(
      (
        await threadHeads(
          db.pool,
          db.schema,
          times.map((t) => t.threadId),
          channels,
        )
      ).map((head) => [head.threadId, head]),
    );
    for (const { threadId, createdAt, updatedAt } of times) {
      const head = heads.get(threadId);
      if (!head || rows.length >= options.limit) continue;
      const { workflow, status, runStatus, task, reviewPoint } = clis.get(workflowOfThread(head))!.listThread(head);
      if (!options.status || runStatus === options.status)
        rows.push({ threadId, workflow, status, task, createdAt, updatedAt, reviewPoint });
    }
  }
  return rows;
}

export function register(program: Command): void {
  subcommand(program, "threads")
    .description(
      "List threads from the checkpointer, newest first, with their workflow (an engine thread: its definition) and status.",
    )
    .addOption(new Option("--status <status>", "only threads with this status").choices(STATUSES))
    .option("--limit <n>", "at most this many threads", positiveInteger("--limit"), 20)
    .option(...JSON_OPTION)
    .addHelpText(
      "after",
      examples(
        "orchestra threads",
        "orchestra threads --status interrupted --limit 5",
        "orchestra threads --json | jq '.[].threadId'",
      ),
    )
    .action(async (options: ThreadsOptions) => {
      const [{ renderThreads }, { withDatabase }] = await Promise.all([import("../render.js"), import("./shared.js")]);
      const rows = await withDatabase((db) =>
        listThreads(db, { limit: options.limit, ...(options.status ? { status: options.status } : {}) }),
      );
      if (options.json) printJson(rows);
      else process.stdout.write(renderThreads(rows) + "\n");
    });
}
