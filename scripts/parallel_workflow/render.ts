import { count, formatEvent } from "./progress.js";
import type { ThreadSummary } from "./inspect.js";
import { fixed, renderMarkdown, styler, table, when } from "../render.js";
import { shellCommand } from "../shell_command.js";

/** `show`'s text for a research thread. `color` is off for pipes and files. */
export function renderSummary(s: ThreadSummary, color: boolean): string {
  const style = styler(color);
  const heading = (text: string) => ["", style("bold", text)];
  const out = [
    style("bold", `Thread ${s.threadId}`) +
      ` — ${s.status}${s.reviewPoint ? ` at ${s.reviewPoint}` : ""}${s.quality ? `, quality ${fixed(s.quality.score)}` : ""}`,
    `Task: ${s.task}`,
    `Mode: ${s.mode ?? "-"} · ${count(s.branches.length, "branch")} · revision ${s.revision}` +
      (s.settings
        ? ` · review ${s.settings.review}, threshold ${s.settings.qualityThreshold}, model ${s.settings.model}`
        : "") +
      ` · updated ${when(s.updatedAt)}`,
  ];
  if (s.failureReason) out.push(`Ended: ${s.failureReason}`);
  if (s.status === "interrupted")
    out.push(
      `Waiting for review: ${shellCommand("orchestra", "resume", s.threadId)} --approve | --reject | --feedback TEXT | --edit FILE`,
    );
  if (s.status === "running")
    out.push(
      `Unfinished and not paused: if no process is running it, \`${shellCommand("orchestra", "resume", s.threadId)}\` continues it`,
    );

  out.push(...heading("Branches"));
  out.push(
    ...table(
      ["BRANCH", "NODE", "STATUS", "QUALITY", "SECONDS", "ATTEMPT", "ERROR"],
      s.branches.map((b) => [
        b.branchId,
        b.node ?? "-",
        b.status,
        fixed(b.quality),
        fixed(b.seconds, 2),
        String(b.attempt),
        b.error ?? "",
      ]),
    ).map((l) => `  ${l}`),
  );

  out.push(...heading("Sync"));
  out.push(
    s.sync
      ? `  ${s.sync.syncPoint}: ${Math.round(s.sync.progress * 100)}% succeeded (${s.sync.status}); ` +
          `done ${s.sync.completedBranches.length}, failed ${s.sync.failedBranches.length}, pending ${s.sync.pendingBranches.length}`
      : `  ${notYet(s, "reached")}`,
  );

  out.push(...heading("Quality"));
  if (s.quality) {
    const q = s.quality;
    out.push(`  score ${fixed(q.score)} against threshold ${q.threshold} → ${q.route}: ${q.reason}`);
    out.push(
      `  judge ${fixed(q.judgeScore)} (weight 0.5), merge quality ${fixed(q.mergeQuality)} (0.3), success rate ${fixed(q.successRate)} (0.2)`,
    );
    if (q.judge) {
      out.push(
        `  rubric: coverage ${fixed(q.judge.coverage, 2)}, evidence ${fixed(q.judge.evidence, 2)}, consistency ${fixed(q.judge.consistency, 2)}, actionability ${fixed(q.judge.actionability, 2)}`,
      );
      for (const issue of q.judge.issues) out.push(`  - ${issue}`);
    }
  } else {
    out.push(`  ${notYet(s, "validated")}`);
  }

  if (s.reviews.length) {
    out.push(...heading("Reviews"));
    for (const r of s.reviews) {
      const detail =
        r.action === "edit" ? ` (${r.fields.join(", ") || "nothing"})` : r.feedback ? `: "${r.feedback}"` : "";
      out.push(`  ${when(r.at)}  ${r.point}: ${r.action} by ${r.reviewer}${detail}`);
    }
  }

  out.push(...heading("Timeline"));
  for (const event of s.timeline) out.push(`  ${event.at.slice(11, 23)}  ${formatEvent(event)}`);

  out.push(...heading("Report"));
  out.push(s.report ? renderMarkdown(s.report, color) : `  ${notYet(s, "written")}`);
  return out.join("\n");
}

/** A part the thread has not produced: still to come, or never, once it has ended. */
function notYet(s: ThreadSummary, done: string): string {
  if (s.status === "interrupted" || s.status === "running") return `not ${done} yet`;
  const rejection = s.reviews.findLast((r) => r.action === "reject");
  const ended =
    s.status === "rejected" && rejection
      ? `rejected at ${rejection.point} by ${rejection.reviewer}`
      : `${s.status}${s.failureReason ? ` (${s.failureReason})` : ""}`;
  return `not ${done}: the thread was ${ended} first`;
}
