import type { Spread } from "./stats.js";

/** Number formats and the markdown table every section of `npm run bench` prints with. */
export const ms = (x: number) => (x >= 100 ? x.toFixed(0) : x.toFixed(1));
export const range = (s: Spread) => `${ms(s.median)} (${ms(s.min)}–${ms(s.max)})`;
export const rate = (s: Spread) => `${s.median.toFixed(1)} (${s.min.toFixed(1)}–${s.max.toFixed(1)})`;
export const x = (r: number) => `${r.toFixed(2)}×`;
export const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)}`;

export function table(header: string[], rows: (string | number)[][]): string {
  return [
    `| ${header.join(" | ")} |`,
    `| ${header.map(() => "---").join(" | ")} |`,
    ...rows.map((row) => `| ${row.join(" | ")} |`),
  ].join("\n");
}
