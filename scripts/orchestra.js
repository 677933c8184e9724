#!/usr/bin/env node
// The `orchestra` command. Runs the build in dist/ when it is complete and newer than every
// source; otherwise registers tsx and runs the TypeScript sources as they are, so editing a
// source never runs stale output and a checkout works before any build.
import { distIsFresh } from "./compiled.js";

// Stack traces under --debug point into the TypeScript sources.
if (process.argv.includes("--debug")) process.setSourceMapsEnabled(true);
let program;
if (distIsFresh()) {
  program = await import("../dist/scripts/orchestra.js");
} else {
  const { register } = await import("tsx/esm/api");
  register();
  program = await import("./orchestra.ts");
}
await program.main();
