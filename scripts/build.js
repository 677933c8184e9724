// `npm run build`, run by `npm install` and `npm ci` through `prepare`: compiles the product's
// TypeScript into dist/ (one .js per .ts, imports left as they are) so `orchestra` starts without
// transpiling. esbuild is the transpiler tsx runs on, so dist/ behaves as the sources do under
// tsx; type checking stays with `npm run typecheck`. See docs/decisions on the CLI build.
import { copyFile, mkdir, mkdtemp, rename, rm, utimes, writeFile } from "node:fs/promises";
import path from "node:path";
import { build } from "esbuild";
import { BUILD_STAMP_NAME, compiledPath, DIST, PROJECT_ROOT, sourceFiles } from "./compiled.js";

// Dated before the sources are read: a file saved during the build makes dist/ stale, not fresh.
const startedAt = new Date();
const files = sourceFiles();
const typescript = files.filter((file) => file.endsWith(".ts"));
// Built beside dist/ (one filesystem, so the rename below is atomic) and moved into place whole:
// an `orchestra` started meanwhile sees the previous build or this one, never a half-written one.
const staging = await mkdtemp(path.join(PROJECT_ROOT, ".dist-"));
try {
  await build({
    absWorkingDir: PROJECT_ROOT,
    entryPoints: typescript,
    outdir: staging,
    outbase: ".",
    format: "esm",
    platform: "node",
    target: "node20",
    sourcemap: "linked",
    logLevel: "warning",
  });
  // Files the code reads next to itself (the enterprise workflow definitions, say) come along.
  for (const file of files.filter((file) => !file.endsWith(".ts"))) {
    const output = compiledPath(file);
    if (!output) continue;
    await mkdir(path.dirname(path.join(staging, output)), { recursive: true });
    await copyFile(path.join(PROJECT_ROOT, file), path.join(staging, output));
  }
  const stamp = path.join(staging, BUILD_STAMP_NAME);
  await writeFile(stamp, `${typescript.length} sources compiled\n`);
  await utimes(stamp, startedAt, startedAt);
  await moveIntoPlace(staging);
} finally {
  await rm(staging, { recursive: true, force: true });
}

/**
 * Replaces dist/ with `built`. A directory cannot be renamed over a non-empty one, so the old
 * build steps aside first; between the two renames dist/ is absent, which the bin reads as
 * "not built" and runs the sources. Another build finishing at the same moment may put its
 * dist/ back in between: then ours steps it aside too and tries again.
 */
async function moveIntoPlace(built) {
  const previous = `${built}.previous`;
  for (let attempt = 1; ; attempt++) {
    await rename(DIST, previous).catch((error) => {
      if (error.code !== "ENOENT") throw error;
    });
    try {
      await rename(built, DIST);
      break;
    } catch (error) {
      if (!["ENOTEMPTY", "EEXIST"].includes(error.code) || attempt === 5) throw error;
    } finally {
      await rm(previous, { recursive: true, force: true });
    }
  }
}
