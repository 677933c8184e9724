import { spawnSync } from "node:child_process";
import os from "node:os";
import { describe, expect, it } from "vitest";
import { isDeadLocalCli, leaseOwner } from "../checkpoints/thread_lock.js";

describe("a lease left by a dead CLI", () => {
  // A process that has exited: its pid is free (until the kernel hands it out again).
  const exited = spawnSync(process.execPath, ["-e", "0"]).pid;

  it("is a dead CLI of this machine when its pid is gone", () => {
    expect(isDeadLocalCli(`cli ${os.hostname()}:${exited}:1a2b3c4d`)).toBe(true);
  });

  it("is not when the process lives, on another machine, or a server's", () => {
    expect(isDeadLocalCli(leaseOwner("cli"))).toBe(false);
    expect(isDeadLocalCli(`cli another-host:${exited}:1a2b3c4d`)).toBe(false);
    expect(isDeadLocalCli(`serve ${os.hostname()}:${exited}:1a2b3c4d`)).toBe(false);
  });
});
