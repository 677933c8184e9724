import { randomUUID } from "node:crypto";
import { MemorySaver } from "@langchain/langgraph";
import { pino } from "pino";
import { MemoryEnterpriseControls } from "../../checkpoints/enterprise_workflow/controls.js";
import { RunLog, createLogger, runInFlight, setRootLog } from "../../checkpoints/log.js";
import { definitionOf, groupsFor, stepCount } from "./engine.js";
import { compileEnterpriseWorkflow } from "../../graphs/enterprise_workflow.js";
import { engineServices } from "../../nodes/enterprise_workflow/services.js";
import { interleaved, ratio, spread, timed, type Spread } from "../stats.js";

/**
 * What the log costs a run: the engine running a definition of no-op steps (the least work a run
 * does, so the log's share is at its largest), in memory, the run bound to its logger as the
 * server's worker binds it and ending with its `run finished` line; the root logger at `info`,
 * writing real JSON lines to /dev/null, against `silent`. Process CPU, rounds interleaved.
 */

export interface LoggingCost {
  steps: number;
  /** Runs per round; each round's CPU is divided by it. */
  runs: number;
  offCpuMsPerRun: Spread;
  infoCpuMsPerRun: Spread;
  infoOverOff: number;
}

export async function measureLoggingCost(options: {
  steps: number;
  runs: number;
  rounds: number;
  progress?: (message: string) => void;
}): Promise<LoggingCost> {
  const groups = groupsFor(options.steps);
  const definition = definitionOf(groups);
  const steps = stepCount(groups);
  options.progress?.(
    `logging cost: ${options.rounds} rounds of ${options.runs} runs of ${steps} steps, info against silent`,
  );
  const engine = compileEnterpriseWorkflow(new MemorySaver(), engineServices(new MemoryEnterpriseControls()));
  const loggers = {
    off: createLogger({ level: "silent" }),
    info: createLogger({ level: "info", destination: pino.destination({ dest: "/dev/null", sync: true }) }),
  };
  // The worker's part of a run, on the given root logger.
  const serverRun = async (root: pino.Logger) => {
    const runId = randomUUID();
    const threadId = randomUUID();
    const runLog = new RunLog(root, { thread_id: threadId, run_id: runId, graph_id: "enterprise_workflow" });
    const forget = runInFlight(runId, runLog);
    const started = performance.now();
    try {
      const result = await engine.invoke(
        { definition, input: {} },
        { configurable: { thread_id: threadId, run_id: runId } },
      );
      if (result.status !== "COMPLETED") throw new Error(`the engine ended ${result.status}`);
    } finally {
      forget();
    }
    if (root.isLevelEnabled("info"))
      runLog.log.info({ status: "success", attempt: 1, ms: Math.round(performance.now() - started) }, "run finished");
  };
  const round = (level: keyof typeof loggers) => () =>
    timed(async () => {
      setRootLog(loggers[level]);
      for (let i = 0; i < options.runs; i++) await serverRun(loggers[level]);
    });
  try {
    await round("info")();
    await round("off")();
    const measured = await interleaved(options.rounds, { off: round("off"), info: round("info") });
    const perRun = (cpu: number[]) => spread(cpu.map((ms) => ms / options.runs));
    const off = perRun(measured.off.cpu);
    const info = perRun(measured.info.cpu);
    return {
      steps,
      runs: options.runs,
      offCpuMsPerRun: off,
      infoCpuMsPerRun: info,
      infoOverOff: ratio(info.median, off.median),
    };
  } finally {
    setRootLog(undefined);
  }
}

export function renderLoggingCost(cost: LoggingCost): string {
  const range = (s: Spread) => `${s.median.toFixed(2)} (${s.min.toFixed(2)}–${s.max.toFixed(2)})`;
  return [
    `The engine, ${cost.steps} no-op steps a run, in memory, bound to its run's logger as the server binds it; CPU ms per run, medians of ${cost.offCpuMsPerRun.n} rounds of ${cost.runs} runs (min–max)`,
    "",
    "| log level | CPU ms per run |",
    "| --- | --- |",
    `| silent | ${range(cost.offCpuMsPerRun)} |`,
    `| info (JSON lines to /dev/null) | ${range(cost.infoCpuMsPerRun)} |`,
    "",
    `info / silent: ${cost.infoOverOff.toFixed(3)}×`,
    "",
  ].join("\n");
}
