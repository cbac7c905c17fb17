import type { VersionLike } from './hash';

/** "Nothing purged": no tombstone of the partition has been collected on that node. */
export const NO_HORIZON_MS = -1;

/** A key and the version a node holds for it; on the wire [key, ms, c, w, tombstone 0|1]. */
export type KeyVersion = [key: string, ms: number, c: number, w: string, tombstone: 0 | 1];

/**
 * The merge order of libs/lww on versions alone: timestamp, then writer id, then a tombstone
 * beats a value on a complete tie. (Two different values never share a version: a version is
 * one frontend's stamp of one write.)
 */
export function compareKeyVersions(a: KeyVersion, b: KeyVersion): number {
  if (a[1] !== b[1]) return a[1] < b[1] ? -1 : 1;
  if (a[2] !== b[2]) return a[2] < b[2] ? -1 : 1;
  if (a[3] !== b[3]) return a[3] < b[3] ? -1 : 1;
  return a[4] - b[4];
}

export function keyVersion(key: string, ver: VersionLike, tombstone: boolean): KeyVersion {
  return [key, ver.ms, ver.c, ver.w, tombstone ? 1 : 0];
}

export interface Reconciliation {
  /** Keys to give the other side: newer here, or missing there and newer than its horizon. */
  send: string[];
  /** Keys to take from the other side: newer there, or missing here and newer than our horizon. */
  want: string[];
  /**
   * Values held here, missing there, stamped at or before the other side's horizon: the other
   * side may have purged a tombstone that deleted them, so it will not take them back. If this
   * node missed that delete (it was away longer than the grace period), the value must go.
   */
  coveredThere: string[];
  /** The same from the other side: values it holds that our horizon covers (we refuse them). */
  coveredHere: string[];
}

/**
 * Compare the versions two replicas hold for the keys of the same buckets.
 *
 * The horizon rule: a node that has purged tombstones of a partition up to stamp H cannot tell
 * "never had this key" from "deleted it and forgot the tombstone" for any key it lacks, so it
 * never takes an entry stamped at or before H for a key it lacks. Entries stamped after H are
 * newer than every tombstone it forgot, so ordinary last-writer-wins applies to them.
 * A tombstone covered by the other side's horizon is not sent at all: both sides agree the key
 * is gone.
 */
export function reconcile(
  local: Iterable<KeyVersion>, remote: Iterable<KeyVersion>, localHorizonMs: number, remoteHorizonMs: number,
): Reconciliation {
  const out: Reconciliation = { send: [], want: [], coveredThere: [], coveredHere: [] };
  const theirs = new Map<string, KeyVersion>();
  for (const kv of remote) theirs.set(kv[0], kv);
  const seen = new Set<string>();
  for (const mine of local) {
    const key = mine[0];
    seen.add(key);
    const other = theirs.get(key);
    if (!other) {
      if (mine[1] > remoteHorizonMs) out.send.push(key);
      else if (mine[4] === 0) out.coveredThere.push(key);
      continue;
    }
    const order = compareKeyVersions(mine, other);
    if (order > 0) out.send.push(key);
    else if (order < 0) out.want.push(key);
  }
  for (const [key, other] of theirs) {
    if (seen.has(key)) continue;
    if (other[1] > localHorizonMs) out.want.push(key);
    else if (other[4] === 0) out.coveredHere.push(key);
  }
  return out;
}
