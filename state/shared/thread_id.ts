import { InputError } from "./errors.js";

/**
 * What a thread id may be, for the CLI, the server and the engine alike: an id one of them
 * accepts, the others accept too. Any text a user may pick (spaces, quotes, slashes, any
 * script) but no control characters, which break every line that prints the id, and at
 * most 200 characters (code points), so an id fits a line and an index.
 */
export const THREAD_ID_MAX = 200;
export const THREAD_ID_RULE = `a thread id is 1 to ${THREAD_ID_MAX} characters without control characters (newlines, tabs, NUL)`;
const CONTROL = /\p{Cc}/u;

/** Why `id` is no thread id, or undefined when it is one. */
export function threadIdProblem(id: string): string | undefined {
  const length = [...id].length;
  if (length === 0) return `${THREAD_ID_RULE}; got an empty one`;
  if (length > THREAD_ID_MAX) return `${THREAD_ID_RULE}; got ${length}`;
  if (CONTROL.test(id)) return `${THREAD_ID_RULE}; got ${JSON.stringify(id).slice(0, 60)}`;
  return undefined;
}

/** `id`, if it is a thread id; an InputError naming the rule otherwise. */
export function checkThreadId(id: string): string {
  const problem = threadIdProblem(id);
  if (problem) throw new InputError(problem);
  return id;
}
