// Vitest setup file, run in every test file: a file's leftover child processes die with it, and a
// process still running after that (one that left its group, an orphan) fails the file.
import { afterAll } from "vitest";
import { forgetGroups, killRunningChildren, leftoverProcesses } from "./children.js";

const HOOKED = Symbol.for("orchestra.tests.killOnExit");
const flags = globalThis as { [HOOKED]?: true };

afterAll(async () => {
  killRunningChildren();
  // SIGKILL is delivered at once; the kernel and the parents take a moment to reap.
  let left = leftoverProcesses();
  for (let i = 0; left.length && i < 50; i++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    left = leftoverProcesses();
  }
  forgetGroups();
  if (left.length) throw new Error(`processes this test file left running:\n${left.join("\n")}`);
});
// A worker that ends abruptly (a crash, a timeout) still takes its children with it.
if (!flags[HOOKED]) {
  flags[HOOKED] = true;
  process.on("exit", killRunningChildren);
}
