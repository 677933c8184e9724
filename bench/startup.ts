import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { openCheckpointer } from "../checkpoints/index.js";
import { LATENCY_ENV } from "../models/offline/runtime.js";
import { spread, type Spread } from "./stats.js";

/**
 * CLI start-up: each `orchestra` command timed as a whole process, as a user runs it, against
 * bare `node -e 0` on the same machine at the same moment. The build is made first, so the
 * bin runs the compiled dist/ as it does after `npm install`. Another checkout's CLI (the
 * project before a change) can be timed in the same rounds, so both sides see the same load.
 */

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

interface Case {
  name: string;
  /** The checkout whose CLI runs: its own schema, so two checkouts' tables never meet. */
  root: string;
  args: string[];
  /** The wall-time target of the median, seconds. */
  targetSeconds?: number;
}

/** Bare `node` on an idle machine, the baseline the targets were set against: they are judged as ratios to it. */
const IDLE_NODE_SECONDS = 0.05;

const BASELINE: Case = { name: "node -e 0 (baseline)", root: ROOT, args: ["-e", "0"] };

function casesOf(root: string, suffix: string): Case[] {
  const bin = path.join(root, "scripts/orchestra.js");
  return [
    { name: `orchestra --help${suffix}`, root, args: [bin, "--help"], targetSeconds: 0.15 },
    { name: `orchestra threads${suffix}`, root, args: [bin, "threads", "--limit", "5"], targetSeconds: 0.45 },
    { name: `orchestra graph --json${suffix}`, root, args: [bin, "graph", "--json"] },
    {
      name: `orchestra run (offline, L = 0, review never)${suffix}`,
      root,
      args: [bin, "run", "--model", "offline", "--review", "never", "--json"],
    },
  ];
}

export interface StartupRow {
  name: string;
  wallMs: Spread;
  /** Median wall over the baseline's median wall. */
  overBaseline: number;
  targetSeconds?: number;
}

export interface StartupResult {
  baselineMs: Spread;
  rows: StartupRow[];
  /** The other checkout timed in the same rounds, when asked for. */
  against?: string;
}

function timed(args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<number> {
  const began = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd, env, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (chunk) => (stderr += chunk));
    child.once("error", reject);
    child.once("close", (code) => {
      if (code === 0) resolve(performance.now() - began);
      else reject(new Error(`${args.slice(1).join(" ")} exited ${code}: ${stderr.trim()}`));
    });
  });
}

export async function measureStartup(options: {
  repeats: number;
  schema: string;
  /** Another checkout of the project whose CLI is timed in the same rounds. */
  against?: string;
  progress?: (message: string) => void;
}): Promise<StartupResult> {
  const log = options.progress ?? (() => {});
  const roots = [ROOT, ...(options.against ? [path.resolve(options.against)] : [])];
  const schemaOf = (root: string) => `${options.schema}_startup${root === ROOT ? "" : "_against"}`;
  const envOf = (root: string) => ({ ...process.env, ORCHESTRA_DB_SCHEMA: schemaOf(root), [LATENCY_ENV]: "0" });
  for (const root of roots) {
    // A checkout from before the build step has none: its bin runs the sources.
    if (existsSync(path.join(root, "scripts/build.js"))) {
      log(`CLI start-up: building ${path.relative(ROOT, path.join(root, "dist")) || "dist"}/`);
      await timed([path.join(root, "scripts/build.js")], root, process.env);
    }
    // Tables set up and a thread in them, untimed: `threads` then reads, as it does day to day.
    await timed(
      [path.join(root, "scripts/orchestra.js"), "run", "--model", "offline", "--review", "never"],
      root,
      envOf(root),
    );
  }
  const cases = [
    BASELINE,
    ...casesOf(ROOT, ""),
    ...(options.against ? casesOf(roots[1]!, ` (${options.against})`) : []),
  ];
  const walls = new Map<Case, number[]>(cases.map((c) => [c, []]));
  try {
    for (let i = 0; i < options.repeats; i++) {
      log(`CLI start-up: round ${i + 1} of ${options.repeats}`);
      // Interleaved, so a busy moment on the machine weighs on every command alike.
      for (const c of cases) walls.get(c)!.push(await timed(c.args, c.root, envOf(c.root)));
    }
  } finally {
    for (const root of roots) {
      const db = await openCheckpointer({ schema: schemaOf(root), migrate: false });
      await db.pool.query(`DROP SCHEMA IF EXISTS "${schemaOf(root)}" CASCADE`).catch(() => {});
      await db.close();
    }
  }
  const baselineMs = spread(walls.get(BASELINE)!);
  return {
    baselineMs,
    rows: cases.slice(1).map((c) => {
      const wallMs = spread(walls.get(c)!);
      return {
        name: c.name,
        wallMs,
        overBaseline: wallMs.median / baselineMs.median,
        ...(c.targetSeconds ? { targetSeconds: c.targetSeconds } : {}),
      };
    }),
    ...(options.against ? { against: options.against } : {}),
  };
}

export function renderStartup(result: StartupResult): string {
  const ms = (s: Spread) => `${s.median.toFixed(0)} (${s.min.toFixed(0)}–${s.max.toFixed(0)})`;
  const lines = [
    `**CLI start-up** (whole processes, wall ms, medians of ${result.baselineMs.n} interleaved runs; baseline \`node -e 0\` = ${ms(result.baselineMs)})`,
    "",
    `Targets are seconds on an idle machine where \`node -e 0\` takes ${IDLE_NODE_SECONDS * 1000} ms, judged here as that ratio to this run's baseline.`,
    "",
    "| command | wall | × node -e 0 | target | met |",
    "| --- | --- | --- | --- | --- |",
    ...result.rows.map((row) => {
      const ratio = row.targetSeconds === undefined ? undefined : row.targetSeconds / IDLE_NODE_SECONDS;
      const target = ratio === undefined ? "" : `≤ ${row.targetSeconds} s (${ratio.toFixed(0)}×)`;
      return `| ${row.name} | ${ms(row.wallMs)} | ${row.overBaseline.toFixed(1)}× | ${target} | ${ratio === undefined ? "" : row.overBaseline <= ratio ? "yes" : "no"} |`;
    }),
  ];
  return lines.join("\n") + "\n";
}
