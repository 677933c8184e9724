/** Median, min and max of repeated measurements. */
export interface Spread {
  median: number;
  min: number;
  max: number;
  n: number;
}

export function spread(values: number[]): Spread {
  if (values.length === 0) throw new Error("spread of no values");
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { median, min: sorted[0]!, max: sorted.at(-1)!, n: sorted.length };
}

export const ratio = (a: number, b: number) => (b === 0 ? Number.NaN : a / b);

/** Wall and CPU time of one call, in ms. CPU is this process's: the Postgres server's is not in it. */
export async function timed(run: () => Promise<unknown>): Promise<{ wallMs: number; cpuMs: number }> {
  const cpu = process.cpuUsage();
  const start = performance.now();
  await run();
  const wallMs = performance.now() - start;
  const used = process.cpuUsage(cpu);
  return { wallMs, cpuMs: (used.user + used.system) / 1000 };
}

/** Runs each side once per repeat, alternating which goes first, so drift hits both alike. */
export async function interleaved<K extends string>(
  repeats: number,
  sides: Record<K, () => Promise<{ wallMs: number; cpuMs: number }>>,
): Promise<Record<K, { wall: number[]; cpu: number[] }>> {
  const keys = Object.keys(sides) as K[];
  const out = {} as Record<K, { wall: number[]; cpu: number[] }>;
  for (const key of keys) out[key] = { wall: [], cpu: [] };
  for (let r = 0; r < repeats; r++) {
    const order = r % 2 ? [...keys].reverse() : keys;
    for (const key of order) {
      const { wallMs, cpuMs } = await sides[key]();
      out[key].wall.push(wallMs);
      out[key].cpu.push(cpuMs);
    }
  }
  return out;
}
