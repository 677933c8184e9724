// `npm run build`, run by `npm install` and `npm ci` through `prepare`: compiles the product's
// TypeScript into dist/ (one .js per .ts, imports left as they are) so `orchestra` starts without
// transpiling. esbuild is the transpiler tsx runs on, so dist/ behaves as the sources do under
// tsx; type checking stays with `npm run typecheck`. See docs/decisions on the CLI build.
import { copyFile, mkdir, rm, utimes, writeFile } from "node:fs/promises";
import path from "node:path";
import { build } from "esbuild";
import { BUILD_STAMP, DIST, PROJECT_ROOT, sourceFiles } from "./compiled.js";

// Dated before the sources are read: a file saved during the build makes dist/ stale, not fresh.
const startedAt = new Date();
const files = sourceFiles();
const typescript = files.filter((file) => file.endsWith(".ts"));
await rm(DIST, { recursive: true, force: true });
await build({
  absWorkingDir: PROJECT_ROOT,
  entryPoints: typescript,
  outdir: DIST,
  outbase: ".",
  format: "esm",
  platform: "node",
  target: "node20",
  sourcemap: "linked",
  logLevel: "warning",
});
// Files the code reads next to itself (the enterprise workflow definitions, say) come along.
for (const file of files.filter((file) => !file.endsWith(".ts") && !file.endsWith(".js"))) {
  await mkdir(path.dirname(path.join(DIST, file)), { recursive: true });
  await copyFile(path.join(PROJECT_ROOT, file), path.join(DIST, file));
}
await writeFile(BUILD_STAMP, `${typescript.length} sources compiled\n`);
await utimes(BUILD_STAMP, startedAt, startedAt);
