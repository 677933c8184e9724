import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { PROJECT_ROOT } from "./support/cli.js";

const run = promisify(execFile);

describe("import rules (.dependency-cruiser.cjs)", () => {
  it("no workflow imports another, shared code imports no workflow, and no module imports itself back", async () => {
    const cli = path.join(PROJECT_ROOT, "node_modules/dependency-cruiser/bin/dependency-cruise.mjs");
    const folders = [
      "graphs",
      "nodes",
      "state",
      "models",
      "checkpoints",
      "db",
      "metrics",
      "scripts",
      "server",
      "bench",
    ];
    const result = await run(
      process.execPath,
      [cli, "--config", ".dependency-cruiser.cjs", "--output-type", "err", ...folders],
      {
        cwd: PROJECT_ROOT,
      },
    ).then(
      ({ stdout }) => ({ failed: false, output: stdout }),
      (error: { stdout?: string; stderr?: string }) => ({
        failed: true,
        output: `${error.stdout ?? ""}${error.stderr ?? ""}`,
      }),
    );
    expect(result.output).not.toMatch(/error /);
    expect(result.failed).toBe(false);
  });
});
