import type { Command } from "commander";
import type { Settings } from "../../state/parallel_workflow/configuration.js";
import { InputError } from "../../state/shared/errors.js";
import { examples, JSON_OPTION, makeOutput, printJson, reviewOption, subcommand } from "./shared.js";
import type { LiveRunOptions } from "./live_run.js";

export interface ReplayOptions extends LiveRunOptions {
  checkpoint: string;
  review?: Settings["review"];
}

/** An engine thread forks at the checkpoint and runs on, with a line per step, to its next stop. */
async function replayEngineThread(threadId: string, options: ReplayOptions): Promise<number | undefined> {
  const [engineCli, { withThreadLock }, { exitCodeOf, closingLine }] = await Promise.all([import("../engine_cli.js"), import("../../checkpoints/thread_lock.js"), import("./workflow.js")]);
  return engineCli.onEngineThread(threadId, async ({ db, engine }) => {
    if (options.review) throw new InputError("--review is for research threads: an engine thread asks at its approval steps");
    const at = await engine.getState({ configurable: { thread_id: threadId, checkpoint_id: options.checkpoint } });
    if (!at.createdAt) throw new InputError(`thread ${threadId} has no checkpoint ${options.checkpoint}: 'orchestra history ${threadId}' lists them`);
    const { line } = makeOutput(options);
    const summary = await withThreadLock(db, threadId, () => {
      line(`thread ${threadId} · replaying from checkpoint ${options.checkpoint}`);
      return engineCli.driveEngine(engine, threadId, null, { line, checkpointId: options.checkpoint });
    });
    line(closingLine(summary));
    if (options.json) printJson(summary);
    return exitCodeOf(summary.status);
  });
}

async function replay(threadId: string, options: ReplayOptions): Promise<number> {
  const engineCode = await replayEngineThread(threadId, options);
  if (engineCode !== undefined) return engineCode;
  const [{ liveRun }, { replayRun }] = await Promise.all([import("./live_run.js"), import("../runner.js")]);
  return liveRun(options, { id: threadId }, ({ workflow, db, drive }) =>
    replayRun(workflow, db, { threadId, checkpointId: options.checkpoint, ...(options.review ? { review: options.review } : {}) }, drive),
  );
}

export function register(program: Command): void {
  subcommand(program, "replay")
    .description("Time travel: fork a thread at an earlier checkpoint and run on from there. Its history stays intact.")
    .argument("<thread>", "the thread id")
    .requiredOption("--checkpoint <id>", "the checkpoint to fork at ('orchestra history THREAD' lists them)")
    .addOption(reviewOption("the review mode from the fork on (default: the thread's own)"))
    .option("--reviewer <name>", "the name recorded with review decisions (default: your OS user)")
    .option(...JSON_OPTION)
    .addHelpText("after", examples("orchestra history 3f2c...", "orchestra replay 3f2c... --checkpoint 1f0c6a7e-... --review never"))
    .action(async (threadId: string, options: ReplayOptions) => {
      process.exitCode = await replay(threadId, options);
    });
}
