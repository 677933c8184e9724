// Preloaded into a server under test (node --import): on SIGUSR2 it prints, as one JSON line on
// stderr, the event-loop delay since the last report and the process' memory after a full
// collection (with --expose-gc), so garbage not yet collected does not read as growth.
import { monitorEventLoopDelay } from "node:perf_hooks";

const delay = monitorEventLoopDelay({ resolution: 10 });
delay.enable();
process.on("SIGUSR2", () => {
  const ms = (ns: number) => Math.round(ns / 1e4) / 100;
  (globalThis as { gc?: () => void }).gc?.();
  const memory = process.memoryUsage();
  const report = {
    rssMb: Math.round(memory.rss / 2 ** 20),
    heapUsedMb: Math.round(memory.heapUsed / 2 ** 20),
    lagMeanMs: ms(delay.mean),
    lagP99Ms: ms(delay.percentile(99)),
    lagMaxMs: ms(delay.max),
  };
  process.stderr.write(`loop-probe ${JSON.stringify(report)}\n`);
  delay.reset();
});
