import { cpSync, existsSync, statSync } from "node:fs";
import { copyFile, mkdtemp, readdir, rm, symlink, unlink } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { finished, PROJECT_ROOT, spawnTracked } from "./support/cli.js";

// `npm run build` in a copy of the project, never in this checkout: an `orchestra` started by
// another test reads this checkout's dist/ at any moment.

interface Compiled {
  DIST: string;
  SOURCE_DIRS: string[];
  compiledPath(file: string): string | undefined;
  distIsFresh(): boolean;
  sourceFiles(): string[];
}

let copy: string;
let compiled: Compiled;

beforeAll(async () => {
  copy = await mkdtemp(path.join(os.tmpdir(), "orchestra-build-"));
  const own = (await import(pathToFileURL(path.join(PROJECT_ROOT, "scripts/compiled.js")).href)) as Compiled;
  for (const folder of own.SOURCE_DIRS)
    cpSync(path.join(PROJECT_ROOT, folder), path.join(copy, folder), { recursive: true });
  for (const file of ["package.json", "tsconfig.json"])
    await copyFile(path.join(PROJECT_ROOT, file), path.join(copy, file));
  await symlink(path.join(PROJECT_ROOT, "node_modules"), path.join(copy, "node_modules"));
  compiled = (await import(pathToFileURL(path.join(copy, "scripts/compiled.js")).href)) as Compiled;
  await build();
});
afterAll(async () => {
  if (copy) await rm(copy, { recursive: true, force: true });
});

async function build(): Promise<void> {
  const result = await finished(spawnTracked(process.execPath, [path.join(copy, "scripts/build.js")], { cwd: copy }));
  expect(result.code, result.stderr).toBe(0);
}

const outputs = () => compiled.sourceFiles().flatMap((file) => compiled.compiledPath(file) ?? []);
const inode = () => (existsSync(compiled.DIST) ? statSync(compiled.DIST).ino : undefined);

describe("npm run build", () => {
  it("leaves a complete dist/ judged fresh, and no build folder behind; a dist/ missing one file is not fresh", async () => {
    expect(compiled.DIST).toBe(path.join(copy, "dist"));
    expect(outputs().filter((file) => !existsSync(path.join(compiled.DIST, file)))).toEqual([]);
    expect(compiled.distIsFresh()).toBe(true);
    expect((await readdir(copy)).filter((entry) => entry.startsWith(".dist-"))).toEqual([]);

    await unlink(path.join(compiled.DIST, "metrics/optimizer_analysis.js"));
    expect(compiled.distIsFresh()).toBe(false);
    await build();
    expect(compiled.distIsFresh()).toBe(true);
  });

  it("never shows a half-written dist/: while it rebuilds, dist/ is the previous build, the next, or briefly absent", async () => {
    const expected = outputs();
    const seen = { complete: 0, incomplete: [] as string[] };
    let building = true;
    const rebuilds = (async () => {
      for (let i = 0; i < 3; i++) await build();
    })().finally(() => (building = false));
    while (building) {
      // One look at every file; a look during which dist/ was swapped for another proves nothing.
      const before = inode();
      const missing = expected.filter((file) => !existsSync(path.join(compiled.DIST, file)));
      if (before !== undefined && before === inode()) {
        if (missing.length)
          seen.incomplete.push(`${missing.length} of ${expected.length} missing, ${missing[0]} first`);
        else seen.complete++;
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
    await rebuilds;
    expect(seen.incomplete).toEqual([]);
    expect(seen.complete).toBeGreaterThan(0);
    expect(compiled.distIsFresh()).toBe(true);
  });
});
