import { randomInt } from "node:crypto";
import type { ChannelVersions, Checkpoint } from "@langchain/langgraph-checkpoint";

/**
 * Channel versions, made unique per write as the Python savers make them.
 *
 * A blob is keyed by (thread, namespace, channel, version) and saved with ON CONFLICT DO
 * NOTHING. With LangGraph.js's integer versions (max + 1), two forks of one checkpoint
 * reach the same version of a channel with different values, and the second fork's value
 * is silently dropped. Here a version is a 32-digit zero-padded counter (max + 1, so the
 * order is kept), a dot and 16 random digits (so no two writes share a key):
 * "00000000000000000000000000000007.4821930517736208". Equal-width strings order the same
 * under `>` (code units) as under maxChannelVersion (localeCompare), and digits and one dot
 * still read as a number where LangGraph compares a version with 0.
 *
 * Threads saved before used integer versions, and LangGraph cannot order a string against
 * an integer (`"…7.48" > 6` and `String(6).localeCompare("…7.48")` both get it wrong). So
 * a loaded checkpoint's integer n becomes n with an all-zero fraction, which no new version
 * has, and goes back to the integer n when saved: the blob saved under "n" is found again.
 */
const COUNTER_DIGITS = 32;
const FRACTION_DIGITS = 16;
const LEGACY_FRACTION = "0".repeat(FRACTION_DIGITS);
const LEGACY = new RegExp(`^(\\d{${COUNTER_DIGITS}})\\.${LEGACY_FRACTION}$`);
// randomInt takes ranges below 2^48: two halves of 8 digits make the 16.
const HALF_DIGITS = FRACTION_DIGITS / 2;
const half = (min: number) => String(randomInt(min, 10 ** HALF_DIGITS)).padStart(HALF_DIGITS, "0");

export type ChannelVersion = ChannelVersions[string];

const counter = (n: number) => String(n).padStart(COUNTER_DIGITS, "0");

/** The version after `current`, the highest of the checkpoint's (undefined for a new thread). */
export function nextChannelVersion(current: ChannelVersion | undefined): string {
  const n = current === undefined ? 0 : typeof current === "number" ? current : Number.parseInt(current.split(".")[0]!, 10);
  // The second half is never zero: no new version has the fraction that marks a loaded integer.
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

function withVersions<C extends Pick<Checkpoint, "channel_versions" | "versions_seen">>(
  checkpoint: C,
  map: (v: ChannelVersion) => ChannelVersion,
): C {
  return {
    ...checkpoint,
    channel_versions: mapVersions(checkpoint.channel_versions, map),
    versions_seen: Object.fromEntries(
      Object.entries(checkpoint.versions_seen).map(([node, seen]) => [node, mapVersions(seen, map)]),
    ),
  };
}

/** A checkpoint as read: every version a string, integers from older saves included. */
export const withLoadedVersions = <C extends Pick<Checkpoint, "channel_versions" | "versions_seen">>(checkpoint: C) =>
  withVersions(checkpoint, loaded);

/** A checkpoint as saved: the integers it was loaded with are integers again. */
export const withStoredVersions = <C extends Pick<Checkpoint, "channel_versions" | "versions_seen">>(checkpoint: C) =>
  withVersions(checkpoint, stored);

/** The version a blob is saved under. */
export const storedVersion = (v: ChannelVersion) => String(stored(v));
