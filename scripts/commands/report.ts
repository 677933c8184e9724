import { writeFile } from "node:fs/promises";
import type { Command } from "commander";
import { InputError } from "../../state/shared/errors.js";
import { examples, JSON_OPTION, type JsonOption, printJson, subcommand, THREAD_ARGUMENT } from "./shared.js";
import { withThreadCommands } from "./thread_commands.js";

export interface ReportOptions extends JsonOption {
  out?: string;
}

async function report(threadId: string, options: ReportOptions): Promise<void> {
  const summary = await withThreadCommands(threadId, ({ db, commands }) => commands.report(db, threadId));
  if (!summary.report) {
    throw new InputError(
      `thread ${threadId} has no final report: it is ${summary.status}${summary.reviewPoint ? ` at ${summary.reviewPoint}` : ""}`,
    );
  }
  if (options.out) {
    try {
      await writeFile(options.out, summary.report);
    } catch (error) {
      throw new InputError(`cannot write --out ${options.out}: ${(error as NodeJS.ErrnoException).code ?? error}`);
    }
  }
  if (options.json) printJson({ threadId, report: summary.report, file: options.out ?? null });
  else if (options.out) process.stdout.write(`wrote ${options.out}\n`);
  else process.stdout.write(summary.report + "\n");
}

export function register(program: Command): void {
  subcommand(program, "report")
    .description("Print a finished thread's final report as markdown, or write it to a file.")
    .argument(...THREAD_ARGUMENT)
    .option("--out <file>", "write the report to this file")
    .option(...JSON_OPTION)
    .addHelpText("after", examples("orchestra report 3f2c...", "orchestra report 3f2c... --out report.md"))
    .action(async (threadId: string, options: ReportOptions) => {
      await report(threadId, options);
    });
}
