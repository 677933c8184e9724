import type { Checkpointer } from "../../checkpoints/index.js";
import type { WorkflowCli, WorkflowCommands } from "../workflow_cli.js";
import { withCheckpointer } from "./shared.js";

/** `withCheckpointer`, with the thread commands of the workflow `threadId` belongs to. */
export async function withThreadCommands<T>(
  threadId: string,
  fn: (ctx: { db: Checkpointer; commands: WorkflowCommands; cli: WorkflowCli }) => Promise<T>,
): Promise<T> {
  // Loaded while the database opens: the CLIs' light parts and the registry.
  const loading = import("../workflow_clis.js");
  // Awaited below once the database is open; if opening fails first, that error is the one to report.
  loading.catch(() => {});
  return withCheckpointer(async (db) => fn({ db, ...(await (await loading).threadCommands(db, threadId)) }));
}
