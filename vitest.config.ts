import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["tests/**/*.test.ts"],
    // Integration tests share one embedded Postgres when DATABASE_URL is unset,
    // and the crash test spawns child processes: keep files in one fork pool.
    pool: "forks",
    // Most files wait on servers, child processes and model latency, not on the CPU: two at a time
    // keep a 2-core CI box busy without starving either (one per core left it half idle).
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    globalSetup: ["tests/support/global_setup.ts", "tests/reliability/summary.ts"],
    setupFiles: ["tests/support/cleanup.ts"],
  },
});
