// Vitest setup file, run in every test file: a file's leftover child processes die with it.
import { afterAll } from "vitest";
import { killRunningChildren } from "./children.js";

const HOOKED = Symbol.for("orchestra.tests.killOnExit");
const flags = globalThis as { [HOOKED]?: true };

afterAll(killRunningChildren);
// A worker that ends abruptly (a crash, a timeout) still takes its children with it.
if (!flags[HOOKED]) {
  flags[HOOKED] = true;
  process.on("exit", killRunningChildren);
}
