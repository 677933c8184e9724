import { readFileSync } from "node:fs";
import path from "node:path";
import { parse } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PROJECT_ROOT } from "../support/cli.js";
import { createTestSchema, type TestSchema } from "../support/database.js";
import { type ServerProcess, startServer } from "./support.js";

// docs/prometheus-alerts.yml against a real server's scrape: a rule naming a series that
// /metrics does not export would never fire, and Prometheus would not say so.

interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels: { severity: string };
  annotations: { summary: string };
}

let db: TestSchema;
let server: ServerProcess;
beforeAll(async () => {
  db = await createTestSchema();
  server = await startServer(db.schema);
}, 120_000);
afterAll(async () => {
  await server?.stop();
  await db?.cleanup();
});

/** The names of the series an expression reads: identifiers of ours, not functions, labels or label values. */
function seriesIn(expr: string): string[] {
  const withoutStrings = expr.replace(/"[^"]*"/g, '""');
  return [...new Set(withoutStrings.match(/\borchestra_[a-z0-9_]+\b/g) ?? [])];
}

describe("docs/prometheus-alerts.yml", () => {
  it("parses as rule groups, and every expression reads only series that /metrics exports", async () => {
    const file = parse(readFileSync(path.join(PROJECT_ROOT, "docs/prometheus-alerts.yml"), "utf8")) as {
      groups: { name: string; rules: Rule[] }[];
    };
    const rules = file.groups.flatMap((group) => group.rules);
    expect(rules.length).toBeGreaterThan(0);
    const scrape = await (await fetch(`${server.url}/metrics`)).text();
    const exported = new Set([...scrape.matchAll(/^# TYPE (\S+) /gm)].map((match) => match[1]!));
    expect(exported.has("orchestra_step_error_ratio")).toBe(true);
    for (const rule of rules) {
      expect(rule, rule.alert).toMatchObject({
        alert: expect.stringMatching(/^[A-Z][A-Za-z]+$/),
        labels: { severity: expect.stringMatching(/^(info|warning|critical)$/) },
      });
      expect(rule.annotations.summary, rule.alert).toBeTruthy();
      const series = seriesIn(rule.expr);
      expect(series.length, `${rule.alert} reads no series`).toBeGreaterThan(0);
      for (const name of series) expect(exported, `${rule.alert}: ${name} is not exported`).toContain(name);
    }
  }, 120_000);

  it("tells series from label values", () => {
    expect(seriesIn('max by (graph) (orchestra_server_runs{status="orchestra_x"}) > 100')).toEqual([
      "orchestra_server_runs",
    ]);
  });
});
