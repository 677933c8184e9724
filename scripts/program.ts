import { Command } from "commander";
import { examples } from "./commands/shared.js";

/**
 * The `orchestra` program: each command lives in scripts/commands/<name>.ts, or, when only one
 * workflow has it, in scripts/<workflow>/commands/, contributed by the workflow's manifest
 * (graphs/<workflow>/manifest.ts), and exports `register(program)`. The list's order is the
 * order `--help` shows. A command imports what it runs on inside its action, so loading every
 * command here stays cheap.
 */
const COMMANDS: readonly { register(program: Command): void }[] = [
  ...(await Promise.all([
    import("./commands/run.js"),
    import("./commands/workflows.js"),
    import("./commands/resume.js"),
    import("./commands/replay.js"),
    import("./commands/threads.js"),
    import("./commands/show.js"),
    import("./commands/history.js"),
    import("./commands/report.js"),
    import("./commands/graph.js"),
    import("./commands/db.js"),
  ])),
  ...(await (await import("../graphs/registry.js")).workflowCommandModules()),
  ...(await Promise.all([
    import("./commands/dev_receiver.js"),
    import("./commands/serve.js"),
    import("./commands/triggers.js"),
    import("./commands/events.js"),
    import("./commands/metrics.js"),
    import("./commands/optimize.js"),
  ])),
];

export function buildProgram() {
  const program = new Command("orchestra")
    .description("Run, review, resume and inspect parallel multi-agent workflows, durably on Postgres.")
    .option("--debug", "print stack traces for unexpected errors")
    .exitOverride()
    .addHelpText(
      "after",
      `${examples('orchestra run "Compare vector databases"', "orchestra threads --status interrupted", "orchestra resume <thread> --approve", "orchestra show <thread>")}

Exit codes: 0 completed or paused for review, 1 failed or rejected, 2 usage or input error, 130 Ctrl-C.
Without DATABASE_URL, checkpoints live in an embedded Postgres in .data/postgres.`,
    );
  for (const command of COMMANDS) command.register(program);
  oneLineErrors(program);
  return program;
}

/** "orchestra db status": what a user types to reach this command. */
const commandPath = (command: Command): string =>
  command.parent ? `${commandPath(command.parent)} ${command.name()}` : command.name();

/**
 * Commander's own errors (an unknown option, a missing argument) as one line naming the
 * problem and where the usage is, like every other error.
 */
function oneLineErrors(command: Command) {
  command.configureOutput({
    outputError: (message, write) => {
      const problem = message
        .replace(/^error: /, "")
        .replace(/\s*\n\s*/g, " ")
        .trim()
        .replace(/\.$/, "");
      write(`orchestra: ${problem}: see '${commandPath(command)} --help'\n`);
    },
  });
  for (const sub of command.commands) oneLineErrors(sub);
}
