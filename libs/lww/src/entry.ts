import type { Version } from '@fog/protocol';
import { plainEntry } from './value-codec';

/** A stored version of a key: a value, or a tombstone (value null) left by a delete. */
export interface Entry {
  readonly ver: Version;
  readonly value: Buffer | null;
  /**
   * When the value expires (ms since the epoch), for a write made with a ttl; absent: never.
   * Derived from the write's stamp by the frontend and carried with the version, so every
   * replica agrees on it.
   */
  readonly exp?: number;
  /**
   * Set when `value` holds the value deflated (value-codec.ts): the plain value's length.
   * Only inside a storage node; every entry leaves it plain.
   */
  readonly z?: number;
}

/**
 * An entry that reads as missing at `nowMs`: a tombstone, or a value whose expiry has passed.
 * An expired value keeps its place in last-writer-wins (an older write of the key does not
 * come back) until it is purged like a tombstone.
 */
export function isGone(e: Entry, nowMs: number): boolean {
  return e.value === null || (e.exp !== undefined && e.exp <= nowMs);
}

/** Milliseconds a value has left to live at nowMs, or null when it does not expire. */
export function remainingTtlMs(e: Entry, nowMs: number): number | null {
  return e.exp === undefined ? null : Math.max(0, e.exp - nowMs);
}

/**
 * When an entry may be purged: a tombstone from its stamp, an expiring value from its expiry
 * (the caller adds the grace period); null for a value that does not expire.
 */
export function goneSinceMs(e: Entry): number | null {
  if (e.value === null) return e.ver.ms;
  return e.exp ?? null;
}

/**
 * The one total order every replica merges with, so that all replicas of a key end with the
 * same entry whatever order writes arrive in:
 *   1. higher timestamp (ms, then counter) wins;
 *   2. then the greater writer id (byte order);
 *   3. on a complete version tie, a tombstone beats a value (a delete that raced a write with
 *      the identical stamp is not undone);
 *   4. then the greater value, compared byte by byte (the original design's last resort).
 * Returns <0 when a is older than b, >0 when newer, 0 when identical.
 */
export function compareEntries(a: Entry, b: Entry): number {
  if (a.ver.ms !== b.ver.ms) return a.ver.ms < b.ver.ms ? -1 : 1;
  if (a.ver.c !== b.ver.c) return a.ver.c < b.ver.c ? -1 : 1;
  if (a.ver.w !== b.ver.w) return a.ver.w < b.ver.w ? -1 : 1;
  if (a.value === null || b.value === null) {
    if (a.value === b.value) return 0;
    return a.value === null ? 1 : -1;
  }
  // Compressed bytes do not sort as the plain bytes do: compare plain values (only on a
  // complete version tie, which is rare: the same write seen twice).
  const byValue = a.z === undefined && b.z === undefined ? Buffer.compare(a.value, b.value) : Buffer.compare(plainEntry(a).value!, plainEntry(b).value!);
  if (byValue !== 0) return byValue;
  // A version names one write and so one expiry; this only keeps the order total.
  return (a.exp ?? Number.MAX_SAFE_INTEGER) - (b.exp ?? Number.MAX_SAFE_INTEGER);
}
