import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { PROJECT_ROOT } from "./support/cli.js";

const run = promisify(execFile);

describe("formatter and linter (biome.json)", () => {
  it("finds the tree formatted and no lint error: npm run lint (npm run format fixes the layout)", async () => {
    const biome = path.join(PROJECT_ROOT, "node_modules/@biomejs/biome/bin/biome");
    const result = await run(process.execPath, [biome, "check", ".", "--colors=off", "--max-diagnostics=20"], {
      cwd: PROJECT_ROOT,
    }).then(
      () => ({ failed: false, output: "" }),
      (error: { stdout?: string; stderr?: string }) => ({
        failed: true,
        output: `${error.stdout ?? ""}${error.stderr ?? ""}`,
      }),
    );
    expect(result.output).toBe("");
    expect(result.failed).toBe(false);
  });
});
