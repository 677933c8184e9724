/** A one-line reason for an error of unknown shape. */
export function messageOf(error: unknown): string {
  // Node's connection errors may be AggregateErrors with an empty message but a code.
  if (error instanceof Error) return error.message || (error as NodeJS.ErrnoException).code || error.name;
  return String(error);
}
