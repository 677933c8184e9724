import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestSchema, type TestSchema } from "./support/database.js";
import { finished, jsonResult, PROJECT_ROOT, runCli, spawnTracked } from "./support/cli.js";

// The CLI as a user runs it: child processes, real exit codes and output, real Postgres.

const TASK = "Choose a message broker for an event-sourced billing system";
const ESCAPE = /\u001b\[/;

let db: TestSchema;
let env: NodeJS.ProcessEnv;
let dir: string;

beforeAll(async () => {
  db = await createTestSchema();
  env = { ORCHESTRA_DB_SCHEMA: db.schema };
  dir = await mkdtemp(path.join(os.tmpdir(), "orchestra-cli-"));
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
  await db?.cleanup();
});

describe("orchestra run", () => {
  it("runs to a completed report and prints a plain line per node and branch event, and per saved step", async () => {
    const result = await runCli(["run", TASK, "--review", "never"], env);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).not.toMatch(ESCAPE);
    const all = result.stdout.split("\n");
    const steps = all.filter((l) => l.startsWith("  · step "));
    expect(steps[0]).toMatch(/^  · step 0 saved at \d+\.\ds; next task_analyzer$/);
    expect(steps).toContainEqual(
      expect.stringMatching(/^  · step 3 saved at .*: 3 done, 2 queued; next sync_point_manager$/),
    );
    const lines = all.filter((l) => !l.startsWith("  · step "));
    expect(lines[0]).toMatch(/^thread [0-9a-f-]{36} · model offline \(deterministic answers, no API calls\)$/);
    expect(lines[1]).toMatch(/^task_analyzer +adaptive mode: 5 branches planned, 3 at a time/);
    for (const node of [
      "research_branch_alpha",
      "research_branch_beta",
      "research_branch_gamma",
      "analysis_branch_primary",
      "analysis_branch_secondary",
    ]) {
      expect(lines.some((l) => l.startsWith(`  ✓ ${node}`))).toBe(true);
    }
    expect(result.stdout).toMatch(/^branch_merger +merged 5 branches/m);
    // A short summary and where the report is, not the report itself.
    expect(result.stdout).not.toContain("# Workflow report");
    const [summary, hint] = lines.filter(Boolean).slice(-2);
    expect(summary).toMatch(
      /^completed: thread ([0-9a-f-]{36}), quality 0\.\d{3} \(threshold 0\.8\) · 5 of 5 branches succeeded · \d+\.\ds$/,
    );
    const threadId = /thread ([0-9a-f-]{36})/.exec(summary!)![1];
    expect(hint).toBe(
      `  report: \`orchestra report ${threadId}\` prints it, \`orchestra report ${threadId} --out report.md\` saves it`,
    );
  });

  it("with --json, ends stdout with the result object and sends progress to stderr", async () => {
    const result = await runCli(["run", TASK, "--review", "never", "--json", "--thread", "cli-json"], env);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout.trim().split("\n")).toHaveLength(1);
    const out = jsonResult(result);
    expect(out).toMatchObject({ threadId: "cli-json", status: "completed", next: [] });
    expect(out.qualityScore).toBeGreaterThanOrEqual(0.8);
    expect(out.report).toContain("## Quality");
    expect(result.stderr).toMatch(/^quality_validator +score/m);
    expect(result.stderr.split("\n")[0]).toBe("thread cli-json · model offline (deterministic answers, no API calls)");
    expect(result.stderr).toMatch(
      /^completed: thread cli-json, quality 0\.\d{3} \(threshold 0\.8\) · 5 of 5 branches succeeded/m,
    );
  });

  it("reads a task queue from --task-file: two tasks plan ten branches", async () => {
    const file = path.join(dir, "tasks.json");
    await writeFile(
      file,
      JSON.stringify([
        { description: "Assess demand for cargo e-bikes in Lyon", domain: "mobility", deadline: "2026-12-01" },
        { description: "Estimate the cost of a city-wide charging network", type: "analysis", complexity: 0.5 },
      ]),
    );
    const result = await runCli(["run", "--task-file", file, "--review", "never", "--json"], env);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/10 branches planned/);
    expect(jsonResult(result).report).toContain("cargo e-bikes");
  });

  it("outside a terminal, stops at the review point and prints the resume command; a reject exits 1", async () => {
    const paused = await runCli(["run", TASK, "--thread", "cli-review"], env);
    expect(paused.code, paused.stderr).toBe(0);
    expect(paused.stdout).toContain("paused for review at sync_point_manager");
    expect(paused.stdout).toContain("resume cli-review --approve | --reject | --feedback");

    // A resume runs on the thread's own model, and says so first.
    const resumed = await runCli(["resume", "cli-review", "--approve"], env);
    expect(resumed.stdout.split("\n")[0]).toBe(
      "thread cli-review · model offline (deterministic answers, no API calls)",
    );
    // Feedback at the quality gate: the revision says why it runs.
    const revised = await runCli(["resume", "cli-review", "--feedback", "Compare operating costs"], env);
    expect(revised.stdout).toMatch(
      /^load_balancer +revision 1: re-queues b\d-[a-z-]+ with the feedback "Compare operating costs"$/m,
    );
    expect(revised.stdout).toMatch(/^parallel_coordinator +wave 3: /m);

    const rejected = await runCli(["resume", "cli-review", "--reject", "--json"], env);
    expect(rejected.code).toBe(1);
    expect(jsonResult(rejected)).toMatchObject({ status: "rejected", next: [], report: null });
  });

  // The CPU headroom task_analyzer weighs is the load average the OS reports. Each run gets a
  // mount namespace of its own whose /proc/loadavg reads a given load: the OS, not Node's os
  // module, tells the process how busy the machine is. Making the namespace needs root.
  it.runIf(process.getuid?.() === 0)(
    "plans parallel mode on an idle machine for a complex task: one wave of every branch",
    async () => {
      const file = path.join(dir, "complex.json");
      await writeFile(file, JSON.stringify([{ description: TASK, complexity: 0.9 }]));
      const [idle, busy] = await Promise.all(
        ["0.00", "64.00"].map(async (load) => {
          const loadavg = path.join(dir, `loadavg-${load}`);
          await writeFile(loadavg, `${load} ${load} ${load} 1/100 1\n`);
          const child = spawnTracked(
            "unshare",
            [
              "--mount",
              "--propagation",
              "private",
              "sh",
              "-c",
              'mount --bind "$0" /proc/loadavg && exec "$@"',
              loadavg,
              process.execPath,
              path.join(PROJECT_ROOT, "scripts/orchestra.js"),
              "run",
              "--task-file",
              file,
              "--review",
              "never",
            ],
            { cwd: PROJECT_ROOT, env: { ...process.env, ...env } },
          );
          return finished(child);
        }),
      );
      expect(idle!.code, idle!.stderr).toBe(0);
      expect(idle!.stdout).toMatch(
        /^task_analyzer +parallel mode: 5 branches planned, 5 at a time \(complexity 0\.90, .*cpu headroom 1\.00\)$/m,
      );
      expect(idle!.stdout).toMatch(/^parallel_coordinator +wave 1: (b\d-[a-z-]+ → [a-z_]+(, |$)){5}/m);
      expect(idle!.stdout).not.toMatch(/wave 2/);
      expect(idle!.stdout.match(/^  ✓ /gm)).toHaveLength(5);
      expect(idle!.stdout).toMatch(/^completed: thread /m);

      // The same task on a busy machine: adaptive, three at a time, in two waves.
      expect(busy!.code, busy!.stderr).toBe(0);
      expect(busy!.stdout).toMatch(
        /^task_analyzer +adaptive mode: 5 branches planned, 3 at a time \(.*cpu headroom 0\.00\)$/m,
      );
      expect(busy!.stdout).toMatch(/^parallel_coordinator +wave 2: /m);
    },
  );

  it("fails an unexpected error with one line, and with --debug adds its stack", async () => {
    const failing = { ...env, ORCHESTRA_OFFLINE_FAULTS: JSON.stringify({ branch_merger: { fail: 1_000 } }) };
    const plain = await runCli(["run", TASK, "--review", "never"], failing);
    expect(plain.code).toBe(1);
    expect(plain.stderr).toMatch(/^orchestra: .*offline fault: branch_merger/m);
    expect(plain.stderr).toContain("(run with --debug for details)");
    expect(plain.stderr).not.toMatch(/^\s+at /m);

    const debug = await runCli(["run", TASK, "--review", "never", "--debug"], failing);
    expect(debug.code).toBe(1);
    expect(debug.stderr).toMatch(/^orchestra: .*offline fault: branch_merger/m);
    expect(debug.stderr).toMatch(/^Error: offline fault: branch_merger.*\n(\s+at .+\n)+/m);
    expect(debug.stderr).not.toContain("(run with --debug for details)");
  });

  it("has --help with examples on every command and subcommand", async () => {
    const commands = [
      [],
      ["db"],
      ["run"],
      ["resume"],
      ["replay"],
      ["threads"],
      ["show"],
      ["history"],
      ["report"],
      ["graph"],
      ["db", "status"],
      ["db", "migrate"],
      ["workflow"],
      ["workflow", "validate"],
      ["workflow", "run"],
      ["workflow", "graph"],
      ["workflow", "list"],
      ["workflow", "diff"],
      ["pause"],
      ["cancel"],
      ["audit"],
      ["dev-receiver"],
    ];
    const results = await Promise.all(commands.map((command) => runCli([...command, "--help"], env)));
    results.forEach((result, i) => {
      expect(result.code, commands[i]!.join(" ")).toBe(0);
      expect(result.stdout).toMatch(new RegExp(`^Usage: orchestra ${commands[i]!.join(" ")}`));
      expect(result.stdout, commands[i]!.join(" ")).toContain("Examples:");
    });
    const db = await runCli(["db", "--help"], env);
    expect(db.stdout).toMatch(/status \[options\] +Show where the checkpointer lives/);
  });
});

describe("every error is one line naming the problem and the fix, exit 2", () => {
  const file = (name: string) => path.join(dir, name);
  beforeAll(async () => {
    await writeFile(file("not-json.json"), "[{ description: 'unquoted' }]\n");
    await writeFile(file("no-description.json"), JSON.stringify([{ type: "research", domain: "fintech" }]));
  });

  it.each([
    [
      "a missing task file",
      () => ["run", "--task-file", file("missing.json")],
      /^orchestra: --task-file \S+missing\.json does not exist: check the path$/,
    ],
    [
      "a task file that is not JSON",
      () => ["run", "--task-file", file("not-json.json")],
      /^orchestra: --task-file \S+ is not valid JSON \(.+\): give a JSON list of tasks, e\.g\. \[\{"description": .+\}\]$/,
    ],
    [
      "a task file that is a directory",
      () => ["run", "--task-file", dir],
      /^orchestra: --task-file \S+ is a directory: give a file$/,
    ],
    [
      "a task without a description",
      () => ["run", "--task-file", file("no-description.json")],
      /^orchestra: --task-file \S+: invalid input: taskQueue\.0\.description: is missing: give each task a "description", the text of the task$/,
    ],
    [
      "a missing edit file",
      () => ["resume", "cli-json", "--edit", file("missing.json")],
      /^orchestra: --edit \S+ does not exist: check the path$/,
    ],
    [
      "an unknown option",
      () => ["run", "--bogus"],
      /^orchestra: unknown option '--bogus'( \(Did you mean --[a-z-]+\?\))?: see 'orchestra run --help'$/,
    ],
    [
      "a missing argument",
      () => ["show"],
      /^orchestra: missing required argument 'thread': see 'orchestra show --help'$/,
    ],
    [
      "a value not among the choices",
      () => ["run", "--review", "sometimes"],
      /^orchestra: option '--review <mode>' argument 'sometimes' is invalid\. Allowed choices are always, never: see 'orchestra run --help'$/,
    ],
    [
      "an option without its value",
      () => ["db", "status", "--bogus"],
      /^orchestra: unknown option '--bogus': see 'orchestra db status --help'$/,
    ],
    ["an unknown command", () => ["frobnicate"], /^orchestra: unknown command 'frobnicate': see 'orchestra --help'$/],
    [
      "an unknown command asked for help",
      () => ["frobnicate", "--help"],
      /^orchestra: unknown command 'frobnicate': see 'orchestra --help'$/,
    ],
    [
      "help on an unknown command",
      () => ["help", "frobnicate"],
      /^orchestra: unknown command 'frobnicate': see 'orchestra --help'$/,
    ],
    [
      "an unknown subcommand asked for help",
      () => ["db", "frob", "-h"],
      /^orchestra: unknown command 'frob': see 'orchestra db --help'$/,
    ],
  ])("%s", async (_name, args, message) => {
    const result = await runCli(args(), env);
    expect(result.code, result.stderr).toBe(2);
    expect(result.stdout).toBe("");
    expect(result.stderr.trimEnd().split("\n")).toEqual([expect.stringMatching(message)]);
    expect(result.stderr).not.toMatch(/ENOENT|EISDIR|expected string, received undefined/);
  });
});
