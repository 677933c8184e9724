/**
 * A command line the CLI prints for the user to paste, its words quoted for POSIX shells: an id
 * such as `'; drop table checkpoints; --` or `$(reboot)` is one word again once pasted, never
 * shell code. Words of letters, digits and `@%+=:,./_-` are left as they are.
 */
const PLAIN = /^[\p{L}\p{N}@%+=:,./_-]+$/u;

export const shellWord = (word: string) => (PLAIN.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`);

export const shellCommand = (...words: string[]) => words.map(shellWord).join(" ");
