import type { LwwStore } from '@fog/lww';

interface SortedPartition {
  keys: string[];
  /** How many keys the store held when `keys` was last in step with it. */
  count: number;
}

/** First index in `keys` (sorted) whose key is greater than `after` (or >= `from` when after is null). */
function lowerBound(keys: readonly string[], probe: string, strict: boolean): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (keys[mid] < probe || (strict && keys[mid] === probe)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * The keys of each partition in key order (JavaScript string order), so that a listing page
 * costs a binary search plus the page, not a pass over the partition and a sort.
 *
 * A partition's sorted array is built on first use and kept in step by `added` (the engine
 * calls it when an entry for a new key is stored: an O(log n) search plus an array insert).
 * Keys leave the store in bulk (tombstone purge, a dropped partition) without telling the
 * index: it compares its count with the store's and rebuilds a partition whose count moved,
 * so it never lists a key the store forgot, nor misses one, whoever changed the store.
 */
export class OrderedKeyIndex {
  private readonly partitions = new Map<number, SortedPartition>();

  constructor(readonly store: LwwStore) {}

  /** The store now holds `key` in `partition` and did not before. */
  added(partition: number, key: string): void {
    const p = this.partitions.get(partition);
    if (!p) return; // built on first use
    p.keys.splice(lowerBound(p.keys, key, false), 0, key);
    p.count++;
  }

  /**
   * Keys of one partition that start with `prefix` and sort after `after` (null: from the
   * start), in order, at most `max` of them.
   */
  keysAfter(partition: number, after: string | null, prefix: string, max: number): string[] {
    const keys = this.sorted(partition);
    let i = after !== null && after >= prefix ? lowerBound(keys, after, true) : lowerBound(keys, prefix, false);
    const out: string[] = [];
    // Keys with a common prefix are contiguous in sorted order: stop at the first that lacks it.
    for (; i < keys.length && out.length < max; i++) {
      const key = keys[i];
      if (!key.startsWith(prefix)) break;
      out.push(key);
    }
    return out;
  }

  private sorted(partition: number): string[] {
    const held = this.store.keysIn(partition);
    let p = this.partitions.get(partition);
    if (!p || p.count !== held) {
      const keys: string[] = [];
      for (const [key] of this.store.entries(partition)) keys.push(key);
      keys.sort();
      p = { keys, count: held };
      if (held === 0) this.partitions.delete(partition);
      else this.partitions.set(partition, p);
    }
    return p.keys;
  }
}
