import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { PROJECT_ROOT } from "./support/cli.js";

const DECISIONS = path.join(PROJECT_ROOT, "docs/decisions");
const records = readdirSync(DECISIONS).filter((name) => name.endsWith(".md"));

describe("decision records (docs/decisions)", () => {
  it("are numbered without a gap or a repeat", () => {
    const numbers = records.map((name) => Number(name.slice(0, 4)));
    expect(numbers).toEqual(numbers.map((_, index) => index + 1));
  });

  it.each(records)("%s has a Status line, and names its successor when superseded", (name) => {
    const status = readFileSync(path.join(DECISIONS, name), "utf8").match(/^Status: (.+)$/m)?.[1];
    expect(status, `${name} has no "Status: …" line`).toBeDefined();
    if (/superseded/i.test(status ?? "")) expect(status).toMatch(/\]\(\d{4}-[\w-]+\.md\)/);
  });
});
