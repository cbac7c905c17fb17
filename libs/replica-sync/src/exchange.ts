import { plainBytes, plainEntry, type Entry } from '@fog/lww';
import { decodeWireEntry, encodeWireEntry } from '@fog/protocol';
import { bucketCount, diffDigests, digestEntries, pickBuckets, type Digest } from './digest';
import { bucketOf } from './hash';
import { keyVersion, reconcile, type KeyVersion } from './reconcile';
import type { AeEntry, DiffReply, DiffRequest, DigestReply, DigestRequest } from './wire';

/** What the exchange needs from a replica's store; the storage app adapts its engine to it. */
export interface ReplicaView {
  entries(partition: number): Iterable<[string, Entry]>;
  get(partition: number, key: string): Entry | undefined;
  /** Highest stamp of a tombstone of this partition that was purged here, or NO_HORIZON_MS. */
  horizonMs(partition: number): number;
  /** The partition's digest (the app caches it between writes). */
  digest(partition: number): Digest;
}

export function computeDigest(view: Pick<ReplicaView, 'entries'>, partition: number, buckets: number): Digest {
  return digestEntries(view.entries(partition), buckets);
}

export function encodeAeEntry(key: string, e: Entry): AeEntry {
  return { key, ...encodeWireEntry(plainEntry(e)) };
}

export function decodeAeEntry(e: AeEntry): Entry {
  return decodeWireEntry(e);
}

/** Replier, step 1: compare the requester's digests with ours. */
export function answerDigest(view: ReplicaView, req: DigestRequest, holds: (p: number) => boolean, epoch: number): DigestReply {
  return {
    epoch,
    partitions: req.partitions.map(({ p, digest }) => (holds(p)
      ? { p, held: true, horizonMs: view.horizonMs(p), diff: diffDigests(digest, view.digest(p)) }
      : { p, held: false, horizonMs: view.horizonMs(p), diff: [] })),
  };
}

/** Our versions of the keys in some buckets of a partition. */
export function versionsIn(view: ReplicaView, partition: number, ids: Iterable<number>, buckets: number): KeyVersion[] {
  const wanted = new Set(ids);
  const out: KeyVersion[] = [];
  for (const [key, e] of view.entries(partition)) {
    if (wanted.has(bucketOf(key, buckets))) out.push(keyVersion(key, e.ver, e.value === null));
  }
  return out;
}

/**
 * Requester, step 2: which differing buckets to exchange within the key budget (whole buckets,
 * costed by the keys both sides hold in them), and our versions of their keys.
 */
export function planDiff(
  view: ReplicaView, partition: number, diff: Array<[bucket: number, theirCount: number]>, buckets: number, keysBudget: number,
): { ids: number[]; versions: KeyVersion[]; keys: number } {
  const mine = view.digest(partition);
  const costs = diff.map(([b, theirs]): [number, number] => [b, theirs + bucketCount(mine, b)]);
  const picked = pickBuckets(costs, keysBudget);
  return { ids: picked.buckets, versions: versionsIn(view, partition, picked.buckets, buckets), keys: picked.keys };
}

/**
 * Collect entries by key for a message, stopping at `keysMax` entries or once `bytesMax` value
 * bytes are reached (a message always carries at least one entry so that progress is made).
 */
export function collectEntries(view: ReplicaView, partition: number, keys: readonly string[], keysMax: number, bytesMax: number): { entries: AeEntry[]; truncated: boolean } {
  const entries: AeEntry[] = [];
  let bytes = 0;
  for (const key of keys) {
    const e = view.get(partition, key);
    if (!e) continue;
    // Plain bytes: what the entry costs on the wire (a compressed one leaves the node plain).
    const size = plainBytes(e) ?? 0;
    if (entries.length >= keysMax || (entries.length > 0 && bytes + size > bytesMax)) return { entries, truncated: true };
    bytes += size;
    entries.push(encodeAeEntry(key, e));
  }
  return { entries, truncated: false };
}

/**
 * Replier, step 2: reconcile the requester's versions with ours. Returns the reply, and the
 * keys of values we hold that the requester's horizon covers (our caller decides what to do
 * with them: see `ReplicaView` users in the storage app and docs/durability.md).
 */
export function answerDiff(
  view: ReplicaView, req: DiffRequest, held: boolean, epoch: number, keysMax: number, bytesMax: number,
): { reply: DiffReply; coveredThere: string[] } {
  const horizonMs = view.horizonMs(req.p);
  if (!held) return { reply: { epoch, held, horizonMs, entries: [], want: [], covered: [], truncated: false }, coveredThere: [] };
  const mine = versionsIn(view, req.p, req.ids, req.buckets);
  const r = reconcile(mine, req.versions, horizonMs, req.horizonMs);
  const { entries, truncated } = collectEntries(view, req.p, r.send, Math.min(keysMax, req.keysMax), bytesMax);
  return {
    reply: { epoch, held, horizonMs, entries, want: r.want.slice(0, Math.min(keysMax, req.keysMax)), covered: r.coveredHere, truncated },
    coveredThere: r.coveredThere,
  };
}

/**
 * The entry that retires a value a peer's horizon covers: a tombstone with the value's own
 * version. On a complete version tie a tombstone wins (libs/lww), so it replaces the value
 * here and on any replica that still holds the same value, and loses to anything newer.
 */
export function retiringTombstone(e: Entry): Entry {
  return { ver: e.ver, value: null };
}
