import type { SoakReport } from "./soak.js";

/** The table of a soak: faults by kind, invariants checked, violations with their replay. */
export function formatReport(report: SoakReport): string {
  const lines = [
    `seed ${report.seed}: ${report.faults} faults in ${(report.durationMs / 1000).toFixed(0)} s; runs settled ${report.settledMs === null ? "NOT within lease + grace" : `${report.settledMs} ms after the last fault`}`,
    "",
  ];
  const table = (header: string[], rows: (string | number)[][]) => {
    const cells = [header, ...rows.map((r) => r.map(String))];
    const widths = header.map((_, i) => Math.max(...cells.map((r) => r[i]!.length)));
    const line = (r: string[]) =>
      `| ${r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(" | ")} |`;
    lines.push(
      line(header),
      `|${widths.map((w, i) => (i === 0 ? "-".repeat(w + 2) : `${"-".repeat(w + 1)}:`)).join("|")}|`,
      ...cells.slice(1).map(line),
      "",
    );
  };
  table(["fault", "injected"], [...Object.entries(report.faultsByKind).sort(), ["total", report.faults]]);
  table(
    ["workload", "threads", "at their end"],
    Object.entries(report.workloads)
      .sort()
      .map(([name, w]) => [name, w.threads, w.ended]),
  );
  table(["checked", "count"], Object.entries(report.coverage));
  table(
    ["invariant", "violations"],
    report.invariants.map((i) => [i.name, i.violations]),
  );
  for (const v of report.violations) lines.push(`VIOLATION ${v.invariant}: ${v.message}\n  replay: ${v.replay}`);
  return lines.join("\n");
}
