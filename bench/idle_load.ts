import os from "node:os";

/**
 * task_analyzer only plans parallel mode with CPU headroom over the last minute, and on a
 * shared two-core machine the load average is whatever else runs. The bench pins it, so
 * every run plans the same waves; the measured work is unchanged. Returns the undo.
 */
export function pinIdleLoad(): () => void {
  const loadavg = os.loadavg;
  os.loadavg = () => [0, 0, 0];
  return () => {
    os.loadavg = loadavg;
  };
}
