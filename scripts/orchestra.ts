import path from "node:path";
import { pathToFileURL } from "node:url";
import { Command, CommanderError } from "commander";
import { DatabaseUnavailableError, InputError } from "../state/shared/errors.js";
import { examples, EXIT } from "./commands/shared.js";

/**
 * The `orchestra` program: each command lives in scripts/commands/<name>.ts, or, when only one
 * workflow has it, in scripts/<workflow>/commands/ (reached through scripts/workflow_commands.ts),
 * and exports `register(program)`. The list's order is the order `--help` shows. A command imports what
 * it runs on inside its action, so loading every command here stays cheap.
 */
const COMMANDS: readonly { register(program: Command): void }[] = await Promise.all([
  import("./commands/run.js"),
  import("./commands/workflows.js"),
  import("./workflow_commands.js").then(({ WORKFLOW_COMMANDS }) => WORKFLOW_COMMANDS.agents),
  import("./commands/resume.js"),
  import("./commands/replay.js"),
  import("./commands/threads.js"),
  import("./commands/show.js"),
  import("./commands/history.js"),
  import("./commands/report.js"),
  import("./commands/graph.js"),
  import("./commands/db.js"),
  import("./workflow_commands.js").then(({ WORKFLOW_COMMANDS }) => WORKFLOW_COMMANDS.workflow),
  import("./workflow_commands.js").then(({ WORKFLOW_COMMANDS }) => WORKFLOW_COMMANDS.controls),
  import("./workflow_commands.js").then(({ WORKFLOW_COMMANDS }) => WORKFLOW_COMMANDS.audit),
  import("./commands/dev_receiver.js"),
  import("./commands/serve.js"),
  import("./commands/metrics.js"),
  import("./workflow_commands.js").then(({ WORKFLOW_COMMANDS }) => WORKFLOW_COMMANDS.alerts),
  import("./commands/optimize.js"),
]);

export function buildProgram() {
  const program = new Command("orchestra")
    .description("Run, review, resume and inspect parallel multi-agent workflows, durably on Postgres.")
    .option("--debug", "print stack traces for unexpected errors")
    .exitOverride()
    .addHelpText(
      "after",
      `${examples("orchestra run \"Compare vector databases\"", "orchestra threads --status interrupted", "orchestra resume <thread> --approve", "orchestra show <thread>")}

Exit codes: 0 completed or paused for review, 1 failed or rejected, 2 usage or input error, 130 Ctrl-C.
Without DATABASE_URL, checkpoints live in an embedded Postgres in .data/postgres.`,
    );
  for (const command of COMMANDS) command.register(program);
  oneLineErrors(program);
  return program;
}

/** "orchestra db status": what a user types to reach this command. */
const commandPath = (command: Command): string => (command.parent ? `${commandPath(command.parent)} ${command.name()}` : command.name());

/**
 * Commander's own errors (an unknown option, a missing argument) as one line naming the
 * problem and where the usage is, like every other error.
 */
function oneLineErrors(command: Command) {
  command.configureOutput({
    outputError: (message, write) => {
      const problem = message.replace(/^error: /, "").replace(/\s*\n\s*/g, " ").trim().replace(/\.$/, "");
      write(`orchestra: ${problem}: see '${commandPath(command)} --help'\n`);
    },
  });
  for (const sub of command.commands) oneLineErrors(sub);
}

/**
 * Commander answers `orchestra frobnicate --help` (and `orchestra help frobnicate`) with
 * the top-level help. An unknown command is an error whatever comes with it: drop the
 * help flags, so commander reports the command as unknown.
 */
function withoutHelpForUnknownCommand(program: Command, argv: string[]): string[] {
  const args = argv.slice(2);
  let command = program;
  for (const [i, arg] of args.entries()) {
    if (arg.startsWith("-") || (arg === "help" && command === program)) continue;
    if (command.commands.length === 0) return argv;
    const sub = command.commands.find((c) => c.name() === arg || c.aliases().includes(arg));
    if (!sub) return [...argv.slice(0, 2), ...args.slice(0, i + 1).filter((a) => a !== "help"), ...args.slice(i + 1)].filter((a) => a !== "--help" && a !== "-h");
    command = sub;
  }
  return argv;
}

export async function main(argv = process.argv) {
  // A reader that stops early (`orchestra graph | head`) closes the pipe: that is no error.
  process.stdout.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code !== "EPIPE") throw error;
    process.exit(process.exitCode ?? EXIT.ok);
  });
  const program = buildProgram();
  try {
    await program.parseAsync(withoutHelpForUnknownCommand(program, argv));
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version exit 0; every other parse error is a usage error.
      process.exitCode = error.exitCode === 0 ? EXIT.ok : EXIT.usage;
      return;
    }
    if (error instanceof InputError) {
      process.stderr.write(`orchestra: ${error.message}\n`);
      process.exitCode = EXIT.usage;
      return;
    }
    const debug = program.opts().debug || process.argv.includes("--debug");
    const message = error instanceof Error ? error.message : String(error);
    // LangChain appends a troubleshooting link to model errors: one line, unless asked for more.
    // An unreachable database is fully explained by its one line; anything else may need the stack.
    const hint = debug || error instanceof DatabaseUnavailableError ? "" : " (run with --debug for details)";
    process.stderr.write(`orchestra: ${debug ? message : message.split("\n")[0]}${hint}\n`);
    if (debug && error instanceof Error) process.stderr.write(`${error.stack}\n`);
    process.exitCode = EXIT.failed;
  }
}

// Run as a file (`npx tsx scripts/orchestra.ts --help`); the bin, scripts/orchestra.js, imports this module and calls main itself.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) await main();
