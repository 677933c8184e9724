import { randomInt } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { Command, InvalidArgumentError } from "commander";
import { ROOT } from "./processes.js";
import { formatReport } from "./report.js";
import { runSoak } from "./soak.js";

const wholeNumber = (min: number) => (value: string) => {
  if (!/^\d+$/.test(value.trim()) || Number(value) < min)
    throw new InvalidArgumentError(`expected a whole number ≥ ${min}`);
  return Number(value);
};

const program = new Command("npm run chaos --")
  // Bad input exits 2, as the CLI's does; 1 is kept for a soak that found violations.
  .exitOverride((error) => process.exit(error.exitCode === 0 ? 0 : 2))
  .description(
    "A randomized chaos soak: server instances, CLI processes and Postgres faulted at random moments under a mixed workload, then system-wide invariants checked.",
  )
  .option("--seed <n>", "the plan's seed, to repeat a soak (default: a random one, printed)", wholeNumber(0))
  .option("--faults <n>", "faults to inject", wholeNumber(1), 200)
  .option("--instances <n>", "server instances on the one schema", wholeNumber(2), 3)
  .option("--in-flight <n>", "threads driven at once", wholeNumber(1), 4)
  .option("--lease-ms <ms>", "ORCHESTRA_LEASE_MS of every process", wholeNumber(1000), 3000)
  .option(
    "--grace-ms <ms>",
    "after the last fault, how long beyond the lease the accepted runs get to settle",
    wholeNumber(0),
    30_000,
  )
  .option("--latency-ms <ms>", "the offline model's latency per call", wholeNumber(0), 150)
  .option("--out <file>", "where the report goes", path.join(ROOT, "bench/results/chaos.json"))
  .option("--json", "print the report as one JSON line instead of the table")
  .addHelpText(
    "after",
    "\nExamples:\n  npm run chaos -- --faults 20\n  npm run chaos -- --seed 7 --faults 200 --json\n\nExits 1 when an invariant was violated; each violation names the seed and the fault step to replay.",
  )
  .action(
    async (options: {
      seed?: number;
      faults: number;
      instances: number;
      inFlight: number;
      leaseMs: number;
      graceMs: number;
      latencyMs: number;
      out: string;
      json?: boolean;
    }) => {
      const seed = options.seed ?? randomInt(2 ** 31);
      const start = Date.now();
      const log = (line: string) => process.stderr.write(`[+${((Date.now() - start) / 1000).toFixed(0)} s] ${line}\n`);
      log(`chaos: seed ${seed} (repeat with --seed ${seed})`);
      const report = await runSoak({ ...options, seed, log });
      await mkdir(path.dirname(options.out), { recursive: true });
      await writeFile(options.out, `${JSON.stringify(report, null, 2)}\n`);
      process.stdout.write(
        options.json
          ? `${JSON.stringify(report)}\n`
          : `${formatReport(report)}\nwritten to ${path.relative(process.cwd(), options.out)}\n`,
      );
      process.exitCode = report.violations.length ? 1 : 0;
    },
  );

await program.parseAsync();
