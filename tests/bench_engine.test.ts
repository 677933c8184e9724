import { randomBytes } from "node:crypto";
import pg from "pg";
import { describe, expect, it } from "vitest";
import { measureEngine, renderEngine } from "../bench/enterprise_workflow/engine.js";
import { testDatabaseUrl } from "./support/database.js";

// The engine's bench on one group of steps: both graphs run every step, the figures agree with
// each other, and the bench leaves no schema behind. Not how fast anything is: this machine is shared.

describe("npm run bench --workflow enterprise_workflow, smallest configuration", () => {
  it("times the engine against the hand-written graph of the same shape and drops its schema", async () => {
    const databaseUrl = testDatabaseUrl();
    const schema = `bench_engine_${randomBytes(6).toString("hex")}`;
    const result = await measureEngine({ steps: 1, repeats: 1, databaseUrl, schema });

    // One group: a chain of three, a parallel step of six children, a tally.
    expect(result).toMatchObject({ steps: 11, groups: 1, fan: 6 });
    expect(result.engineMs.n).toBe(1);
    expect(result.engineMsPerStep).toBeCloseTo(result.engineMs.median / 11, 9);
    expect(result.overheadMsPerStep).toBeCloseTo((result.engineMs.median - result.handWrittenMs.median) / 11, 9);
    expect(result.engineOverHandWritten).toBeCloseTo(result.engineMs.median / result.handWrittenMs.median, 9);
    expect(renderEngine(result)).toContain("| engine (definition) |");

    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    try {
      const { rowCount } = await client.query("SELECT 1 FROM information_schema.schemata WHERE schema_name = $1", [schema]);
      expect(rowCount).toBe(0);
    } finally {
      await client.end();
    }
  });
});
