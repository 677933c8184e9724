import { setTimeout as sleep } from "node:timers/promises";
import type { TcpProxy } from "../../tests/support/tcp_proxy.js";
import type { Clis, Fleet } from "./processes.js";
import { killGroup } from "./processes.js";
import type { Random } from "./random.js";

/** What a fault acts on. */
export interface FaultContext {
  fleet: Fleet;
  clis: Clis;
  /** Between every process and Postgres. */
  proxy: TcpProxy;
  restartPostgres(downMs: number): Promise<void>;
  /** Leases held right now, by holder (application_name). */
  leasesHeld(): Promise<Map<string, number>>;
  leaseMs: number;
  rng: Random;
}

/** A kind of fault; a NATS restart or a webhook receiver's kill slots in as one entry. */
export interface Fault {
  kind: string;
  weight: number;
  /** Whether there is something to inject it into right now (a CLI process running, a second instance up). */
  applicable(context: FaultContext): boolean;
  /** Injects it and waits until it is over (the process woken, the connections back); returns its target. */
  inject(context: FaultContext): Promise<string>;
}

/**
 * A supervisor restarts a killed instance: the new process is another incarnation in the same slot.
 * The fault is over once it is up, so the next one does not cut its start short (a server that
 * cannot reach its database at start exits) and the fleet keeps its size. One instance is always left up.
 */
const killServer: Fault = {
  kind: "SIGKILL server",
  weight: 3,
  applicable: (c) => c.fleet.live().length > 1,
  async inject({ fleet, rng }) {
    const victim = rng.pick(fleet.live());
    await fleet.kill(victim.slot);
    fleet.restart(victim.slot, rng.between(0, 1500));
    await fleet.restarted();
    return `${victim.app}, restarted as ${fleet.slots[victim.slot]!.app}`;
  },
};

const killCli: Fault = {
  kind: "SIGKILL CLI",
  weight: 2,
  applicable: (c) => c.clis.running.size > 0,
  async inject({ clis, rng }) {
    const victim = rng.pick([...clis.running].sort((a, b) => a.app.localeCompare(b.app)));
    victim.faulted = true;
    killGroup(victim, "SIGKILL");
    await victim.exited;
    return victim.app;
  },
};

/**
 * Stopped past its lease, so another instance takes its runs over; woken, it must write nothing
 * more. The victim is the instance holding the most leases now: stopping an idle one tests nothing.
 */
const pauseServer: Fault = {
  kind: "SIGSTOP server past its lease",
  weight: 4,
  applicable: (c) => c.fleet.live().length > 1,
  async inject({ fleet, rng, leaseMs, leasesHeld }) {
    const held = await leasesHeld().catch(() => new Map<string, number>());
    const live = fleet.live();
    const most = Math.max(...live.map((i) => held.get(i.app) ?? 0));
    const victim = rng.pick(live.filter((i) => (held.get(i.app) ?? 0) === most));
    const pausedMs = leaseMs + rng.between(1500, 3000);
    victim.paused = true;
    victim.child.kill("SIGSTOP");
    await sleep(pausedMs);
    victim.child.kill("SIGCONT");
    victim.paused = false;
    return `${victim.app} (holding ${most} leases) for ${pausedMs} ms`;
  },
};

const restartPostgres: Fault = {
  kind: "Postgres restart",
  weight: 1,
  applicable: () => true,
  async inject({ restartPostgres, rng }) {
    const downMs = rng.between(0, 1500);
    await restartPostgres(downMs);
    return `down ${downMs} ms`;
  },
};

const dropConnections: Fault = {
  kind: "connections dropped",
  weight: 2,
  applicable: () => true,
  async inject({ proxy, rng }) {
    const downMs = rng.between(200, 1500);
    proxy.cut();
    await sleep(downMs);
    proxy.restore();
    return `all cut, refused for ${downMs} ms`;
  },
};

const delayConnections: Fault = {
  kind: "connections delayed",
  weight: 2,
  applicable: () => true,
  async inject({ proxy, rng }) {
    const delayMs = rng.between(50, 400);
    const forMs = rng.between(1000, 3000);
    proxy.delay(delayMs);
    await sleep(forMs);
    proxy.restore();
    return `${delayMs} ms each way for ${forMs} ms`;
  },
};

export const FAULTS: Fault[] = [killServer, killCli, pauseServer, restartPostgres, dropConnections, delayConnections];

/**
 * The next fault of the plan, drawn by weight; one with nothing to act on now (no CLI running, a
 * single instance up) is drawn again, and after three misses dropped connections stand in for it.
 */
export function nextFault(context: FaultContext): Fault {
  for (let draw = 0; draw < 3; draw++) {
    const drawn = context.rng.weighted(FAULTS);
    if (drawn.applicable(context)) return drawn;
  }
  return dropConnections;
}
