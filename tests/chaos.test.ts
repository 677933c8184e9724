import { describe, expect, it } from "vitest";
import { formatReport } from "../bench/chaos/report.js";
import { runSoak } from "../bench/chaos/soak.js";

// The short chaos soak (bench/chaos, `npm run chaos` for the long one): a seed's 20 random faults
// (servers SIGKILLed and SIGSTOPped past their lease, CLI processes killed, Postgres restarted,
// connections cut and slowed) under a mixed workload, on an embedded Postgres of its own; then every
// system-wide invariant holds. It starts its own Postgres, so it needs no service.

// Its plan draws every kind of fault, four SIGSTOPs first: with the saver's fence taken out, the
// fencing invariant names the paused server's checkpoint written after another took its lease.
const SEED = 18;

describe("chaos soak", () => {
  it(`20 random faults of seed ${SEED} break no invariant`, async () => {
    const report = await runSoak({
      seed: SEED,
      faults: 20,
      instances: 3,
      inFlight: 3,
      leaseMs: 3000,
      graceMs: 30_000,
      latencyMs: 150,
      log: () => {},
    });
    console.log(formatReport(report));
    expect(report.violations).toEqual([]);
    // The faults reached the work: leases moved between processes and runs were taken over.
    expect(report.faultsByKind["SIGSTOP server past its lease"]).toBeGreaterThan(0);
    expect(report.coverage["leases taken from another process"]).toBeGreaterThan(0);
    expect(report.coverage["runs taken over"]).toBeGreaterThan(0);
  }, 300_000);
});
