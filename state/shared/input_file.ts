import { open } from "node:fs/promises";
import { InputError } from "./errors.js";

/** The most a task, input or definition file may hold. */
export const INPUT_FILE_LIMIT_BYTES = 5 * 1024 * 1024;

/** Why a file cannot be read, in words, with what to do about it. */
const FILE_PROBLEMS: Record<string, string> = {
  ENOENT: "does not exist: check the path",
  EACCES: "cannot be read (permission denied): check its permissions",
  EISDIR: "is a directory: give a file",
};

const megabytes = (bytes: number) => `${bytes / 1024 / 1024} MB`;

/**
 * The text of a file the user gave as input (`what`, as "--task-file"), refused with one line
 * when it cannot be read or holds more than `limit` bytes. A regular file is judged by its size;
 * a pipe or a device (/dev/zero never ends) by reading at most limit + 1 bytes, so a refusal
 * takes milliseconds rather than the memory and time of reading it all.
 */
export async function readInputFile(what: string, file: string, limit = INPUT_FILE_LIMIT_BYTES): Promise<string> {
  const refuse = (problem: string) => new InputError(`${what} ${file} ${problem}`);
  const tooLarge = refuse(`is larger than ${megabytes(limit)}: give a smaller file`);
  try {
    const handle = await open(file, "r");
    try {
      const stat = await handle.stat();
      if (stat.isDirectory()) throw refuse(FILE_PROBLEMS.EISDIR!);
      if (stat.isFile() && stat.size > limit) throw tooLarge;
      const buffer = Buffer.allocUnsafe(limit + 1);
      let length = 0;
      for (let read = -1; read !== 0 && length < buffer.length; length += read) {
        ({ bytesRead: read } = await handle.read(buffer, length, buffer.length - length, null));
      }
      if (length > limit) throw tooLarge;
      return buffer.toString("utf8", 0, length);
    } finally {
      await handle.close();
    }
  } catch (error) {
    if (error instanceof InputError) throw error;
    const code = (error as NodeJS.ErrnoException).code ?? "";
    throw refuse(FILE_PROBLEMS[code] ?? `cannot be read (${code || String(error)}): check the path`);
  }
}
