import { bucketOf, entryHash, type VersionLike } from './hash';
import type { Digest } from './digest';

/** An entry as the digests see it: its version and whether it is a tombstone. */
export interface DigestedEntry {
  ver: VersionLike;
  value: unknown | null;
}

/** A partition's summary: the two hash sums (mod 2^32) and the key count over all its buckets. */
export type PartitionSummary = [a: number, b: number, n: number];

/**
 * The digests of every partition a node holds, kept up to date with each change instead of
 * recomputed: a bucket's sums are sums of per-entry hashes, so replacing an entry subtracts
 * the old hash and adds the new one (O(1) per write). The partition summary is the sum of its
 * buckets, so the whole hierarchy (shared partitions → groups → partitions → buckets) costs no
 * scan of the store. Layout per partition: [a0, b0, n0, …, a(B-1), b(B-1), n(B-1), A, B, N].
 */
export class PartitionDigests {
  private readonly byPartition = new Map<number, Uint32Array>();

  constructor(readonly buckets: number) {}

  /** Record that `key` changed from `before` to `after` (either may be absent). */
  update(partition: number, key: string, before: DigestedEntry | undefined, after: DigestedEntry | undefined): void {
    let d = this.byPartition.get(partition);
    if (!d) {
      d = new Uint32Array(this.buckets * 3 + 3);
      this.byPartition.set(partition, d);
    }
    const b = bucketOf(key, this.buckets) * 3;
    const t = this.buckets * 3;
    if (before) {
      const [ha, hb] = entryHash(key, before.ver, before.value === null);
      d[b] -= ha; d[b + 1] -= hb; d[b + 2] -= 1;
      d[t] -= ha; d[t + 1] -= hb; d[t + 2] -= 1;
    }
    if (after) {
      const [ha, hb] = entryHash(key, after.ver, after.value === null);
      d[b] += ha; d[b + 1] += hb; d[b + 2] += 1;
      d[t] += ha; d[t + 1] += hb; d[t + 2] += 1;
    }
  }

  drop(partition: number): void {
    this.byPartition.delete(partition);
  }

  /** The bucket digest of a partition, in the wire form of `Digest` (zeros when empty). */
  digest(partition: number): Digest {
    const d = this.byPartition.get(partition);
    if (!d) return new Array<number>(this.buckets * 3).fill(0);
    return Array.from(d.subarray(0, this.buckets * 3));
  }

  summary(partition: number): PartitionSummary {
    const d = this.byPartition.get(partition);
    if (!d) return [0, 0, 0];
    const t = this.buckets * 3;
    return [d[t], d[t + 1], d[t + 2]];
  }
}
