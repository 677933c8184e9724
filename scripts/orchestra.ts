import path from "node:path";
import { pathToFileURL } from "node:url";
import { type Command, CommanderError } from "commander";
import { DatabaseUnavailableError, InputError } from "../state/shared/errors.js";
import { EXIT } from "./commands/shared.js";
import { buildProgram } from "./program.js";

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
    if (!sub)
      return [...argv.slice(0, 2), ...args.slice(0, i + 1).filter((a) => a !== "help"), ...args.slice(i + 1)].filter(
        (a) => a !== "--help" && a !== "-h",
      );
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
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href)
  await main();
