import { bucketOf, entryHash, type VersionLike } from './hash';

/**
 * A partition digest: for each of `buckets` hash buckets of the key space, the sums (mod 2^32)
 * of two independent hashes of its (key, version) pairs, and the number of keys. Sums do not
 * depend on the order entries are visited in, so two replicas holding the same entries have
 * the same digest whatever order they received them in. Flat: [a0, b0, n0, a1, b1, n1, ...].
 */
export type Digest = number[];

export interface DigestableEntry {
  ver: VersionLike;
  value: unknown | null;
}

export function digestEntries(entries: Iterable<[string, DigestableEntry]>, buckets: number): Digest {
  const d: Digest = new Array<number>(buckets * 3).fill(0);
  for (const [key, e] of entries) {
    const b = bucketOf(key, buckets) * 3;
    const [ha, hb] = entryHash(key, e.ver, e.value === null);
    d[b] = (d[b] + ha) >>> 0;
    d[b + 1] = (d[b + 1] + hb) >>> 0;
    d[b + 2] += 1;
  }
  return d;
}

/** Buckets whose digests differ, each with its key count in `theirs`. */
export function diffDigests(mine: Digest, theirs: Digest): Array<[bucket: number, theirCount: number]> {
  if (mine.length !== theirs.length) throw new RangeError('digests with different bucket counts cannot be compared');
  const out: Array<[number, number]> = [];
  for (let i = 0; i < mine.length; i += 3) {
    if (mine[i] !== theirs[i] || mine[i + 1] !== theirs[i + 1] || mine[i + 2] !== theirs[i + 2]) out.push([i / 3, theirs[i + 2]]);
  }
  return out;
}

/** Keys in a bucket according to a digest. */
export function bucketCount(d: Digest, bucket: number): number {
  return d[bucket * 3 + 2];
}

export function isDigest(x: unknown, buckets: number): x is Digest {
  return Array.isArray(x) && x.length === buckets * 3 && x.every((n) => Number.isInteger(n) && n >= 0 && n <= 0xffffffff);
}

/**
 * Differing buckets to exchange this round, whole buckets only (a partial bucket would look
 * like missing keys to the peer), cheapest first, until `keysMax` keys are listed. The first
 * bucket is always taken so that a round makes progress even when one bucket is larger than
 * the budget.
 */
export function pickBuckets(diff: Array<[bucket: number, cost: number]>, keysMax: number): { buckets: number[]; keys: number } {
  const sorted = [...diff].sort((a, b) => a[1] - b[1] || a[0] - b[0]);
  const buckets: number[] = [];
  let keys = 0;
  for (const [bucket, cost] of sorted) {
    if (buckets.length > 0 && keys + cost > keysMax) break;
    buckets.push(bucket);
    keys += cost;
  }
  return { buckets: buckets.sort((a, b) => a - b), keys };
}
