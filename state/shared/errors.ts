/**
 * The errors every layer may throw and the CLI and server tell apart. They import nothing,
 * so a command can recognise them without loading the workflow or the database driver.
 */

/** A mistake in what the user asked for: the CLI prints it as one line and exits 2. */
export class InputError extends Error {
  override name = "InputError";
}

/** The configured database could not be reached or refused us; the message is one line, password masked. */
export class DatabaseUnavailableError extends Error {
  override name = "DatabaseUnavailableError";
}

/** A one-line reason for an error of unknown shape. */
export function messageOf(error: unknown): string {
  // Node's connection errors may be AggregateErrors with an empty message but a code.
  if (error instanceof Error) return error.message || (error as NodeJS.ErrnoException).code || error.name;
  return String(error);
}

/**
 * A write of a thread refused because this process no longer holds the thread's lease: it expired
 * (the process was paused or cut off past it) and another process took the thread over.
 */
export class LeaseLostError extends Error {
  override name = "LeaseLostError";
}
