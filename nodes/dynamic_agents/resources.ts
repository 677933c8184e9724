import type { AgentTemplate } from "../../state/dynamic_agents/templates.js";
import type {
  AgentError,
  AgentRequirement,
  DynamicAgentsSettings,
  LedgerEntry,
  Resources,
} from "../../state/dynamic_agents/types.js";

/**
 * The resource pool is a ledger of allocations and releases kept in the graph state, so what is
 * held survives a crash and a resume: the pool's free capacity is always the capacity minus what
 * the ledger says is held.
 */

export function poolCapacity(settings: DynamicAgentsSettings): Resources {
  return { slots: settings.maxConcurrency, memoryMb: settings.agentMemoryMb, tokens: settings.agentTokenBudget };
}

const BASE_TOKENS = 4000;

/** What a requirement's work takes in model tokens: twice as much for comprehensive detail, more per agent coordinated. */
export function estimateTokens(requirement: AgentRequirement): number {
  if (requirement.agentCount !== undefined) return 1000 * (requirement.agentCount + 1);
  return requirement.detailLevel === "comprehensive" ? 2 * BASE_TOKENS : BASE_TOKENS;
}

/** An agent of the template reserves one slot, the template's memory and its tokens. */
export function reservationFor(template: AgentTemplate): Resources {
  return { slots: 1, memoryMb: template.memoryMb, tokens: template.tokens };
}

const KEYS = ["slots", "memoryMb", "tokens"] as const;
const none = (): Resources => ({ slots: 0, memoryMb: 0, tokens: 0 });

/** What each agent holds now: allocated and not yet released. */
export function heldByAgent(ledger: readonly LedgerEntry[]): Map<string, Resources> {
  const held = new Map<string, Resources>();
  for (const entry of ledger) {
    if (entry.kind === "allocate") held.set(entry.agentId, entry.resources);
    else held.delete(entry.agentId);
  }
  return held;
}

export function heldInTotal(ledger: readonly LedgerEntry[]): Resources {
  const total = none();
  for (const resources of heldByAgent(ledger).values()) for (const key of KEYS) total[key] += resources[key];
  return total;
}

/** The ledger balances when every allocation has exactly one release after it, and nothing else. */
export function ledgerProblems(ledger: readonly LedgerEntry[]): string[] {
  const problems: string[] = [];
  const open = new Set<string>();
  const closed = new Set<string>();
  for (const { agentId, kind } of ledger) {
    if (kind === "allocate") {
      if (open.has(agentId) || closed.has(agentId)) problems.push(`${agentId} allocated twice`);
      open.add(agentId);
    } else if (!open.has(agentId)) {
      problems.push(closed.has(agentId) ? `${agentId} released twice` : `${agentId} released without an allocation`);
    } else {
      open.delete(agentId);
      closed.add(agentId);
    }
  }
  for (const agentId of open) problems.push(`${agentId} never released`);
  return problems;
}

/** The allocation for the agent if the pool has room, else a ResourceUnavailableError naming what is short. */
export function allocate(
  capacity: Resources,
  ledger: readonly LedgerEntry[],
  agentId: string,
  agentType: string,
  needs: Resources,
): { entry: LedgerEntry } | { error: AgentError } {
  if (heldByAgent(ledger).has(agentId)) throw new Error(`${agentId} already holds an allocation`);
  const held = heldInTotal(ledger);
  const short = KEYS.filter((key) => held[key] + needs[key] > capacity[key]);
  if (short.length) {
    const detail = short.map(
      (key) => `${key} ${capacity[key] - held[key]} free of ${capacity[key]}, needs ${needs[key]}`,
    );
    return {
      error: {
        kind: "ResourceUnavailableError",
        message: `insufficient resources for agent type ${agentType}: ${detail.join("; ")}`,
      },
    };
  }
  return { entry: { agentId, kind: "allocate", resources: needs } };
}

/** The release of an allocation: the same resources, given back by the same agent. */
export function releaseOf(allocation: LedgerEntry): LedgerEntry {
  if (allocation.kind !== "allocate") throw new Error(`${allocation.agentId}: only an allocation can be released`);
  return { agentId: allocation.agentId, kind: "release", resources: allocation.resources };
}
