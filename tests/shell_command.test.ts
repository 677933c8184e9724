import { execFileSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { shellCommand } from "../scripts/shell_command.js";
import { runCli } from "./support/cli.js";
import { createTestSchema, type TestSchema } from "./support/database.js";

// Every command line the CLI prints for pasting must be the same words again in a POSIX shell,
// whatever the thread id holds.

const HOSTILE = [
  "'; drop table checkpoints; --",
  "$(touch /tmp/orchestra-pwned)",
  "`id`",
  "two words",
  'say "hi" \\ there',
  "it's",
  "日本語のスレッド",
  "café ☕ naïve",
  "-dash-first",
  "a;b|c&d>e<f*g?h[i]~j#k!l{m}",
];

/** The words a POSIX shell makes of `line`, run by `sh` itself. */
function shellWords(line: string): string[] {
  const out = execFileSync("sh", ["-c", `printf '%s\\0' ${line}`], { encoding: "utf8" });
  return out.split("\0").slice(0, -1);
}

describe("shellCommand", () => {
  it.each(HOSTILE)("quotes %s so the shell reads it back as one word", (id) => {
    expect(shellWords(shellCommand("orchestra", "resume", id, "--approve"))).toEqual([
      "orchestra",
      "resume",
      id,
      "--approve",
    ]);
  });

  it("leaves plain words as they are", () => {
    expect(shellCommand("orchestra", "report", "q3-pricing_2.v1", "--out", "report.md")).toBe(
      "orchestra report q3-pricing_2.v1 --out report.md",
    );
  });
});

describe("the commands the CLI suggests", () => {
  let db: TestSchema;
  beforeAll(async () => {
    db = await createTestSchema();
  });
  afterAll(() => db?.cleanup());

  it.each(["'; drop table checkpoints; --", "`id` $(id) it's"])(
    "name the thread %s as one word once pasted",
    async (id) => {
      const result = await runCli(["run", "Choose a message broker", "--review", "never", "--thread", id], {
        ORCHESTRA_DB_SCHEMA: db.schema,
      });
      expect(result.code, result.stderr).toBe(0);
      const suggested = /^  report: `(.*)` prints it, `(.*)` saves it$/m.exec(result.stdout)!.slice(1);
      expect(shellWords(suggested[0]!)).toEqual(["orchestra", "report", id]);
      expect(shellWords(suggested[1]!)).toEqual(["orchestra", "report", id, "--out", "report.md"]);
    },
  );
});
