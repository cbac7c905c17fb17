import type { PutOutcome } from '@fog/protocol';
import { compareEntries, entryBytes, goneSinceMs, type Entry } from './entry';
import { plainBytes } from './value-codec';

export interface MergeResult {
  outcome: PutOutcome;
  /** The entry stored after the merge. */
  current: Entry;
}

export interface StoreStats {
  keys: number;
  tombstones: number;
  bytes: number;
  partitions: number;
  /** Bytes of values as stored (compressed ones compressed). */
  valueBytes: number;
  /** Bytes of the same values plain: what clients wrote. */
  plainValueBytes: number;
}

/**
 * Per-partition last-writer-wins maps. Merging is commutative, associative and idempotent, so
 * replicas that receive the same writes in any order hold the same entries.
 */
export class LwwStore {
  private readonly partitions = new Map<number, Map<string, Entry>>();
  private keyCount = 0;
  private tombstoneCount = 0;
  private byteCount = 0;
  private valueByteCount = 0;
  private plainValueByteCount = 0;

  get(partition: number, key: string): Entry | undefined {
    return this.partitions.get(partition)?.get(key);
  }

  /** Merge an incoming entry; the stored entry changes only if the incoming one is newer. */
  merge(partition: number, key: string, incoming: Entry): MergeResult {
    let map = this.partitions.get(partition);
    if (!map) {
      map = new Map();
      this.partitions.set(partition, map);
    }
    const existing = map.get(key);
    if (existing) {
      const order = compareEntries(incoming, existing);
      if (order === 0) return { outcome: 'duplicate', current: existing };
      if (order < 0) return { outcome: 'stale', current: existing };
      this.account(key, existing, -1);
    }
    map.set(key, incoming);
    this.account(key, incoming, 1);
    return { outcome: 'applied', current: incoming };
  }

  /** Would this entry be applied? (used to refuse writes over a memory limit before storing) */
  wouldApply(partition: number, key: string, incoming: Entry): boolean {
    const existing = this.get(partition, key);
    return !existing || compareEntries(incoming, existing) > 0;
  }

  /** Bytes the store would grow by if the entry were applied (may be negative). */
  growthBytes(partition: number, key: string, incoming: Entry): number {
    const existing = this.get(partition, key);
    return entryBytes(key, incoming) - (existing ? entryBytes(key, existing) : 0);
  }

  entries(partition: number): IterableIterator<[string, Entry]> {
    return (this.partitions.get(partition) ?? new Map<string, Entry>()).entries();
  }

  partitionIds(): number[] {
    return [...this.partitions.keys()].sort((a, b) => a - b);
  }

  keysIn(partition: number): number {
    return this.partitions.get(partition)?.size ?? 0;
  }

  /** Forget a partition this node no longer holds. Returns the number of entries dropped. */
  dropPartition(partition: number): number {
    const map = this.partitions.get(partition);
    if (!map) return 0;
    for (const [key, entry] of map) this.account(key, entry, -1);
    this.partitions.delete(partition);
    return map.size;
  }

  /**
   * Remove tombstones written before `beforeMs` (physical time of their stamp) and values that
   * expired before it. Only safe once every replica has had the chance to see the delete: the
   * caller picks the horizon.
   */
  purgeTombstones(beforeMs: number): number {
    let purged = 0;
    for (const map of this.partitions.values()) {
      for (const [key, entry] of map) {
        const since = goneSinceMs(entry);
        if (since !== null && since < beforeMs) {
          map.delete(key);
          this.account(key, entry, -1);
          purged++;
        }
      }
    }
    return purged;
  }

  stats(): StoreStats {
    return {
      keys: this.keyCount, tombstones: this.tombstoneCount, bytes: this.byteCount, partitions: this.partitions.size,
      valueBytes: this.valueByteCount, plainValueBytes: this.plainValueByteCount,
    };
  }

  private account(key: string, entry: Entry, sign: 1 | -1): void {
    if (entry.value === null) this.tombstoneCount += sign;
    else this.keyCount += sign;
    this.byteCount += sign * entryBytes(key, entry);
    if (entry.value !== null) {
      this.valueByteCount += sign * entry.value.length;
      this.plainValueByteCount += sign * (plainBytes(entry) ?? 0);
    }
  }
}
