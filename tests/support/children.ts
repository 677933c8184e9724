/**
 * Every process a test starts, until it exits: tests/support/cleanup.ts kills what is left when a
 * test file ends, or its worker exits, so a failed assertion never leaves a hung `orchestra` behind.
 */
interface Killable {
  kill(signal?: NodeJS.Signals): unknown;
}

// On globalThis: a worker may evaluate these modules once per test file, and its exit hook
// must see the processes of whichever file is running.
const KEY = Symbol.for("orchestra.tests.children");
const store = globalThis as { [KEY]?: Set<Killable> };
const running = (store[KEY] ??= new Set());

/** Tracks `child` until `exited` settles; returns the child. */
export function track<T extends Killable>(child: T, exited: Promise<unknown>): T {
  running.add(child);
  void exited.finally(() => running.delete(child));
  return child;
}

/** SIGKILLs every tracked process still running. */
export function killRunningChildren(): void {
  for (const child of running) {
    try {
      child.kill("SIGKILL");
    } catch {
      // Gone between its exit and our hearing of it.
    }
  }
  running.clear();
}
