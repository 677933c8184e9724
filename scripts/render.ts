import { styleText } from "node:util";
import type { ThreadRow } from "./workflow_cli.js";
import type { HistoryEntry } from "./thread_state.js";

/** Text views for the terminal. `color` is off for pipes and files: plain text, no escape codes. */

type Style = Parameters<typeof styleText>[0];
export const styler = (color: boolean) => (style: Style, text: string) => (color ? styleText(style, text) : text);

export const fixed = (x: number | null | undefined, digits = 3) => (typeof x === "number" ? x.toFixed(digits) : "-");
const shorten = (text: string, width: number) => (text.length <= width ? text : `${text.slice(0, width - 1)}…`);
/** "2026-11-21 07:02:13": seconds are enough to tell runs apart. */
export const when = (iso: string) => (iso ? iso.slice(0, 19).replace("T", " ") : "-");

export function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  return [line(header), ...rows.map(line)];
}

export function renderThreads(rows: ThreadRow[]): string {
  if (rows.length === 0) return "No threads. Start one with 'orchestra run'.";
  return table(
    ["THREAD", "WORKFLOW", "STATUS", "REVIEW", "UPDATED", "CREATED", "TASK"],
    rows.map((r) => [
      r.threadId,
      r.workflow,
      r.status,
      r.reviewPoint ?? "-",
      when(r.updatedAt),
      when(r.createdAt),
      shorten(r.task, 60),
    ]),
  ).join("\n");
}

/**
 * One row per checkpoint, in 120 columns: the full id (what `replay --checkpoint` takes), the
 * nodes that wrote it and what runs next, as the workflow's CLI names them (`--json` names each).
 */
export function renderHistory(
  entries: HistoryEntry[],
  historyNodes: (names: readonly string[]) => string[] = (names) => [...new Set(names)],
): string {
  const nodeList = (names: string[]) => historyNodes(names).join(", ");
  const forked = entries.some((e) => !e.onHeadBranch);
  const lines = table(
    ["STEP", "CHECKPOINT", "TIME", "WROTE", "NEXT", "REPLAY FROM"],
    entries.map((e) => [
      String(e.step) + (e.onHeadBranch ? "" : "*"),
      e.checkpointId,
      e.createdAt.slice(11, 19),
      shorten(e.nodes.length ? nodeList(e.nodes) : (WROTE_BY_SOURCE[e.source]?.(e.step) ?? "-"), NODES_WIDTH),
      shorten(nodeList(e.next) || "-", NODES_WIDTH),
      e.replayPoint ? REPLAY_POINT[e.replayPoint] : "",
    ]),
  );
  const notes = [
    ...(entries.some((e) => e.replayPoint)
      ? [
          "REPLAY FROM: good checkpoints for 'orchestra replay' (a review point asks again; a wave runs its branches again)",
        ]
      : []),
    ...(forked ? ["* left by a replay: kept, but off the head branch (the rows without *, which 'show' follows)"] : []),
  ];
  if (notes.length) lines.push("", ...notes);
  return lines.join("\n");
}

const NODES_WIDTH = 25;
const REPLAY_POINT = { review: "review point", wave: "wave" } as const;

/** Checkpoints no node wrote: the input, a reviewer's edit, a replay's fork and its settings. */
const WROTE_BY_SOURCE: Record<string, (step: number) => string> = {
  input: (step) => (step < 0 ? "(input)" : "(replay's settings)"),
  update: () => "(state edit)",
  fork: () => "(fork)",
};

/** Markdown for a terminal: headings and bold styled, the rest as written. */
export function renderMarkdown(markdown: string, color: boolean): string {
  if (!color) return markdown;
  const style = styler(color);
  return markdown
    .split("\n")
    .map((line) => {
      const heading = /^(#{1,6})\s+(.*)$/.exec(line);
      if (heading)
        return heading[1]!.length === 1 ? style(["bold", "underline"], heading[2]!) : style("bold", heading[2]!);
      return line.replace(/\*\*([^*]+)\*\*/g, (_, text: string) => style("bold", text));
    })
    .join("\n");
}

interface DrawableGraph {
  nodes: Record<string, { id: string }>;
  edges: { source: string; target: string; conditional?: boolean; data?: string }[];
}

/**
 * The diagram as text: each node with its outgoing edges, in the graph's own order.
 * ─▶ is a fixed edge, ┄▶ a routed one (a conditional edge or a Command/Send target).
 */
export function drawAscii(graph: DrawableGraph): string {
  const out: string[] = [];
  for (const id of Object.keys(graph.nodes)) {
    // One line per target: a router's several routes to one node share it.
    const targets = new Map<string, { conditional: boolean; labels: string[] }>();
    for (const e of graph.edges.filter((edge) => edge.source === id)) {
      const target = targets.get(e.target) ?? { conditional: !!e.conditional, labels: [] };
      if (e.data) target.labels.push(e.data);
      targets.set(e.target, target);
    }
    if (targets.size === 0) continue;
    out.push(id);
    [...targets].forEach(([target, { conditional, labels }], i) => {
      const branch = i === targets.size - 1 ? "└" : "├";
      out.push(`  ${branch}${conditional ? "┄▶" : "─▶"} ${target}${labels.length ? `  (${labels.join(" | ")})` : ""}`);
    });
  }
  return out.join("\n");
}
