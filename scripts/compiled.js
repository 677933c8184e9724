// Which sources the build compiles into dist/, and whether dist/ still matches them. Plain
// JavaScript with no dependencies: the `orchestra` bin reads it before anything is compiled.
import { existsSync, readdirSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const DIST = path.join(PROJECT_ROOT, "dist");
/** Written last by the build, dated when the build began: dist/ is complete and holds the sources as of then. */
export const BUILD_STAMP_NAME = ".built";
export const BUILD_STAMP = path.join(DIST, BUILD_STAMP_NAME);
/** The product's source folders; tests and the bench run on the sources through tsx. */
export const SOURCE_DIRS = [
  "checkpoints",
  "db",
  "definitions",
  "graphs",
  "metrics",
  "models",
  "nodes",
  "scripts",
  "server",
  "state",
];

/** Every folder and file below the source folders: its path from the project root, mtime, and whether it is a file. */
function* sourceEntries(folders = SOURCE_DIRS) {
  for (const folder of folders) {
    yield { relative: folder, mtime: statSync(path.join(PROJECT_ROOT, folder)).mtimeMs, file: false };
    for (const entry of readdirSync(path.join(PROJECT_ROOT, folder), { withFileTypes: true })) {
      const relative = path.join(folder, entry.name);
      if (entry.isDirectory()) yield* sourceEntries([relative]);
      else yield { relative, mtime: statSync(path.join(PROJECT_ROOT, relative)).mtimeMs, file: true };
    }
  }
}

/** The files below the source folders, relative to the project root. */
export function sourceFiles() {
  return [...sourceEntries()].filter((entry) => entry.file).map((entry) => entry.relative);
}

/**
 * Where the build puts a source file, relative to dist/: a .ts file compiled to .js, any other
 * file (YAML, CSS) copied as it is. Plain .js sources (this bin and its helpers) stay out: undefined.
 */
export function compiledPath(file) {
  if (file.endsWith(".ts")) return `${file.slice(0, -".ts".length)}.js`;
  return file.endsWith(".js") ? undefined : file;
}

/**
 * True when dist/ was built after the last change to any source: an edited, added, removed
 * or renamed file changes a file's or its folder's mtime. A developer who edits a source
 * therefore runs the sources (through tsx) until the next build, never stale output.
 */
export function distIsFresh() {
  let built;
  try {
    built = statSync(BUILD_STAMP).mtimeMs;
  } catch {
    return false;
  }
  for (const { relative, mtime, file } of sourceEntries()) {
    if (mtime > built) return false;
    // A dist/ missing a file (deleted by hand, or copied in part) is not run either.
    const output = file ? compiledPath(relative) : undefined;
    if (output && !existsSync(path.join(DIST, output))) return false;
  }
  return true;
}
