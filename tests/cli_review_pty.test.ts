import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestSchema, type TestSchema } from "./support/database.js";
import { jsonResult, PROJECT_ROOT, runCli } from "./support/cli.js";
import { spawnInPty } from "./support/pty.js";

// Interactive review as a user meets it: `orchestra` in a pseudo-terminal, its prompts answered.

let db: TestSchema;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  db = await createTestSchema();
  env = {
    ORCHESTRA_DB_SCHEMA: db.schema,
    // Slow enough that the live view shows branches running.
    ORCHESTRA_OFFLINE_LATENCY_MS: "300",
    EDITOR: `${JSON.stringify(process.execPath)} ${JSON.stringify(path.join(PROJECT_ROOT, "tests/support/fake_editor.mjs"))}`,
  };
});
afterAll(() => db?.cleanup());

async function summary(threadId: string) {
  const result = await runCli(["show", threadId, "--json"], env);
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout);
}

describe("interactive review in a terminal", () => {
  it("shows live branch progress, then each review point; edit, approve and feedback all take effect", async () => {
    const session = spawnInPty(
      ["run", "Choose a message broker for billing", "--thread", "pty-review", "--reviewer", "alice"],
      env,
    );

    let at = await session.waitFor(/── Review at sync_point_manager ──/);
    const live = session.text().slice(0, at);
    expect(live).toMatch(/Analysis: adaptive mode, 5 branches planned/);
    expect(live).toMatch(/Fan-out: wave 1, 3 branches/);
    expect(live).toMatch(/b1-research-technical +research_branch_alpha +running +\d+\.\ds/);
    expect(live).toMatch(/b1-research-technical +research_branch_alpha +done +\d+\.\ds +quality 0\.\d{3}/);
    expect(live).toMatch(/step \d+ saved at \d+\.\ds/);
    at = await session.waitFor(/Decision: \[a\]pprove, \[r\]eject, \[f\]eedback, \[e\]dit\? /, at);
    const syncReview = session.text().slice(0, at);
    expect(syncReview).toMatch(/100% of branches succeeded; next: proceed_to_merge/);
    expect(syncReview).toMatch(/b5-analysis-normal +analysis_branch_secondary +success +0\.\d{3}/);

    // Edit: the fake editor rewrites the first branch's summary; the sync point asks again, on the edited state.
    session.write("e\r");
    at = await session.waitFor(/── Review at sync_point_manager ──/, at);
    at = await session.waitFor(/Decision: .*\? /, at);
    expect(session.text().slice(0, at)).toMatch(/b1-research-technical[^\n]*\r?\n +Edited by the reviewer/);
    session.write("a\r");

    at = await session.waitFor(/── Review at quality_validator ──/, at);
    at = await session.waitFor(/Decision: .*\? /, at);
    const validatorReview = session.text().slice(0, at);
    expect(validatorReview).toMatch(/quality score 0\.\d{3} \(threshold 0\.8\)/);
    expect(validatorReview).toMatch(/rubric:\r?\n +coverage: /);
    expect(validatorReview).toMatch(/ - .+ \[b\d-[a-z-]+(, b\d-[a-z-]+)*\]/);
    expect(validatorReview).toMatch(/attribution: b\d-[a-z-]+ \d+%/);
    // The edited findings reached the merge.
    expect(validatorReview).toMatch(/ - Reviewer's corrected claim \d \[[^\]]*b1-research-technical/);
    session.write("f\r");
    at = await session.waitFor(/Feedback: /, at);
    session.write("Cover operating costs\r");
    const revision = at;

    // The revision re-runs the weakest branch, and both review points come round again.
    at = await session.waitFor(/── Review at sync_point_manager ──[\s\S]*Decision: .*\? /, at);
    session.write("a\r");
    at = await session.waitFor(/── Review at quality_validator ──[\s\S]*Decision: .*\? /, at);
    session.write("a\r");
    await session.waitFor(
      /completed: thread pty-review, quality 0\.\d{3} \(threshold 0\.8\) · 5 of 5 branches succeeded · 1 revision · \d+\.\ds\r?\n/,
      at,
    );
    expect(await session.exited).toBe(0);

    const screen = session.text();
    expect(screen.split("\n")[0]).toMatch(/^thread pty-review · model offline \(deterministic answers, no API calls\)/);
    // The feedback that leads to a revision is why it runs, and the live view says so.
    expect(screen).toMatch(/Validation: score 0\.\d{3} → needs_revision: the reviewer asked for changes/);
    const revisionView = screen.slice(revision);
    expect(revisionView).toMatch(/revision 1: re-queues b\d-[a-z-]+ with the feedback "Cover operating costs"/);
    expect(revisionView).toMatch(/Fan-out: wave 3, 1 branch \[/);
    expect(screen).not.toMatch(/\b1 branches\b/);
    // Each finished phase's time is when its last step was saved, on the clock its step lines use.
    const phases = [...screen.matchAll(/^✔ (\S+?):? [^\n]*\[(\d+\.\d)s\]\r?\n((?: {2}[^\n]*\n)*)/gm)];
    const timed = phases.filter(([, , , body]) => /saved at/.test(body!));
    expect(timed.length).toBeGreaterThan(5);
    for (const [, name, seconds, body] of timed) {
      const steps = [...body!.matchAll(/step \d+ saved at (\d+\.\d)s/g)];
      expect(`${name} ${steps.at(-1)![1]}s`).toBe(`${name} ${seconds}s`);
    }
    // A summary and the command for the report, not the report.
    expect(screen).not.toMatch(/Source attribution/);
    expect(screen).toMatch(/report: `orchestra report pty-review` prints it/);

    const thread = await summary("pty-review");
    expect(thread.status).toBe("completed");
    expect(
      thread.reviews.map(
        (r: { point: string; action: string; reviewer: string }) => `${r.point}:${r.action}:${r.reviewer}`,
      ),
    ).toEqual([
      "sync_point_manager:edit:alice",
      "sync_point_manager:approve:alice",
      "quality_validator:feedback:alice",
      "sync_point_manager:approve:alice",
      "quality_validator:approve:alice",
    ]);
    expect(thread.timeline).toContainEqual(
      expect.objectContaining({
        event: "state_edited",
        node: "sync_point_manager",
        reviewer: "alice",
        fields: ["b1-research-technical"],
      }),
    );
    expect(thread.report).toContain("Reviewer's corrected claim");
    expect(thread.revision).toBe(1);
  });

  it("Ctrl-C at the prompt leaves the thread paused, says how to resume, and a resume finishes it", async () => {
    const session = spawnInPty(["run", "Plan a data warehouse migration", "--thread", "pty-ctrl-c"], env);
    await session.waitFor(/Decision: .*\? /);
    session.write("\u0003");
    expect(await session.exited).toBe(130);
    expect(session.text()).toMatch(
      /paused for review at sync_point_manager\. Resume with:\s+orchestra resume pty-ctrl-c --approve/,
    );

    const paused = await summary("pty-ctrl-c");
    expect(paused).toMatchObject({ status: "interrupted", reviewPoint: "sync_point_manager" });
    expect(paused.reviews).toEqual([]);

    const approved = await runCli(["resume", "pty-ctrl-c", "--approve", "--json"], env);
    expect(jsonResult(approved)).toMatchObject({ status: "interrupted", reviewPoint: "quality_validator" });
  });

  it("Ctrl-C while branches run stops at the last saved step; resume picks up from there", async () => {
    const session = spawnInPty(["run", "Compare three CRM vendors", "--thread", "pty-mid-run", "--review", "never"], {
      ...env,
      ORCHESTRA_OFFLINE_LATENCY_MS: "1500",
    });
    const at = await session.waitFor(/research_branch_alpha +running/);
    session.write("\u0003");
    expect(await session.exited).toBe(130);
    // After the Ctrl-C no phase is drawn done while its branches run: they show as stopped.
    const after = session.text().slice(at);
    expect(after).toMatch(/✖ Fan-out: wave 1, 3 branches; stopped by Ctrl-C/);
    expect(after).toMatch(/b1-research-technical +research_branch_alpha +stopped/);
    expect(after).not.toMatch(/✔ Fan-out/);
    expect(session.text()).toMatch(
      /stopped\. The thread keeps every finished step: resume it with `orchestra resume pty-mid-run`/,
    );
    expect((await summary("pty-mid-run")).status).toBe("running");

    const resumed = await runCli(["resume", "pty-mid-run", "--json"], env);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(jsonResult(resumed).status).toBe("completed");
  });
});
