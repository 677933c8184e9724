import { randomInt } from "node:crypto";
import type { ChannelVersions, Checkpoint } from "@langchain/langgraph-checkpoint";

/**
 * Channel versions, made unique per write as the Python savers make them, and given back
 * exactly as they were written.
 *
 * A blob is keyed by (thread, namespace, channel, version) and saved with ON CONFLICT DO
 * NOTHING. With LangGraph.js's integer versions (max + 1), two forks of one checkpoint
 * reach the same version of a channel with different values, and the second fork's value
 * is silently dropped. So every version minted here is the highest counter plus one and a
 * random part that keeps two forks apart, in the type the thread already uses:
 * - a new thread, or one with string versions: a 32-digit zero-padded counter, a dot and
 *   16 random digits, "00000000000000000000000000000007.4821930517736208". Equal-width
 *   strings order the same under `>` (code units) as under maxChannelVersion
 *   (localeCompare), and still read as a number where LangGraph compares a version with 0;
 * - a thread with number versions (saved by the stock saver): the next integer plus a
 *   random fraction, 7.482193051773621. Numbers order as numbers under both comparisons,
 *   and print, in JSON and as the blob key, as the same digits.
 * LangGraph cannot order a string against a number, so a thread never gets both types.
 *
 * Only checkpoints an earlier version of this saver wrote hold both: integers kept from a
 * stock save next to strings minted since. For those alone an integer n is read as n with an
 * all-zero fraction, which no minted version has, and saved back as the integer n, so the
 * blob saved under "n" is found again. Every other checkpoint reads back as it was saved.
 */
const COUNTER_DIGITS = 32;
const FRACTION_DIGITS = 16;
const LEGACY_FRACTION = "0".repeat(FRACTION_DIGITS);
const LEGACY = new RegExp(`^(\\d{${COUNTER_DIGITS}})\\.${LEGACY_FRACTION}$`);
// randomInt takes ranges below 2^48: two halves of 8 digits make the 16.
const HALF_DIGITS = FRACTION_DIGITS / 2;
const half = (min: number) => String(randomInt(min, 10 ** HALF_DIGITS)).padStart(HALF_DIGITS, "0");
// A multiple of 2^-32 above an integer below 2^20 is exact in a double, and never zero.
const FRACTION_STEPS = 2 ** 32;

export type ChannelVersion = ChannelVersions[string];

const counter = (n: number) => String(n).padStart(COUNTER_DIGITS, "0");

/** The version after `current`, the highest of the checkpoint's (undefined for a new thread). */
export function nextChannelVersion(current: ChannelVersion | undefined): ChannelVersion {
  if (typeof current === "number") return Math.floor(current) + 1 + randomInt(1, FRACTION_STEPS) / FRACTION_STEPS;
  const n = current === undefined ? 0 : Number.parseInt(current.split(".")[0]!, 10);
  // The second half is never zero: no minted version has the fraction that marks a loaded integer.
  return `${counter(n + 1)}.${half(0)}${half(1)}`;
}

function mapVersions(versions: ChannelVersions, map: (v: ChannelVersion) => ChannelVersion): ChannelVersions {
  return Object.fromEntries(Object.entries(versions).map(([channel, version]) => [channel, map(version)]));
}

const loaded = (v: ChannelVersion) => (typeof v === "number" ? `${counter(v)}.${LEGACY_FRACTION}` : v);
const stored = (v: ChannelVersion) => {
  const legacy = typeof v === "string" ? LEGACY.exec(v) : null;
  return legacy ? Number(legacy[1]) : v;
};

type Versioned = Pick<Checkpoint, "channel_versions" | "versions_seen">;

const allVersions = (checkpoint: Versioned) => [
  ...Object.values(checkpoint.channel_versions),
  ...Object.values(checkpoint.versions_seen).flatMap((seen) => Object.values(seen)),
];

function withVersions<C extends Versioned>(checkpoint: C, map: (v: ChannelVersion) => ChannelVersion): C {
  return {
    ...checkpoint,
    channel_versions: mapVersions(checkpoint.channel_versions, map),
    versions_seen: Object.fromEntries(
      Object.entries(checkpoint.versions_seen).map(([node, seen]) => [node, mapVersions(seen, map)]),
    ),
  };
}

/** A checkpoint as read: as saved, unless it holds both types, when its integers become strings. */
export function withLoadedVersions<C extends Versioned>(checkpoint: C): C {
  const versions = allVersions(checkpoint);
  const mixed = versions.some((v) => typeof v === "string") && versions.some((v) => typeof v === "number");
  return mixed ? withVersions(checkpoint, loaded) : checkpoint;
}

/** A checkpoint as saved: the integers a mixed checkpoint was loaded with are integers again. */
export const withStoredVersions = <C extends Versioned>(checkpoint: C) => withVersions(checkpoint, stored);

/** The version a blob is saved under. */
export const storedVersion = (v: ChannelVersion) => String(stored(v));
