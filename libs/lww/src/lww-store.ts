import type { PutOutcome } from '@fog/protocol';
import { compareEntries, type Entry } from './entry';
import { hashKeyBytes, PartitionRecords, RECORD_LAYOUT_LIMITS } from './partition-records';
import { RECORD_KEY_BYTES_MAX, recordBytes } from './record-layout';
import { plainBytes } from './value-codec';

export interface MergeResult {
  outcome: PutOutcome;
  /** The entry stored after the merge. */
  current: Entry;
}

export interface StoreStats {
  keys: number;
  tombstones: number;
  /** Bytes the store holds in memory: record slabs (dead space included), indexes, per-partition overhead. */
  bytes: number;
  partitions: number;
  /** Bytes of values as stored (compressed ones compressed). */
  valueBytes: number;
  /** Bytes of the same values plain: what clients wrote. */
  plainValueBytes: number;
}

/**
 * Where a key is encoded to UTF-8 for lookups: one buffer for the process (the store is used
 * from one thread and no method yields while it holds a key there). Large enough for any key
 * of RECORD_KEY_BYTES_MAX bytes whatever its characters (at most 3 bytes per UTF-16 unit).
 */
const keyScratch = Buffer.allocUnsafeSlow(3 * RECORD_KEY_BYTES_MAX);

/** UTF-8 length of `key` in keyScratch, or -1 for a key no record can hold (too long, a lone surrogate). */
function encodeKey(key: string): number {
  if (key.length > RECORD_KEY_BYTES_MAX || !key.isWellFormed()) return -1;
  const n = keyScratch.write(key, 0, 'utf8');
  return n > RECORD_KEY_BYTES_MAX ? -1 : n;
}

/** True when the store can hold `key`: well-formed UTF-16 (it round-trips through UTF-8) of at most RECORD_KEY_BYTES_MAX UTF-8 bytes. */
export function isStorableKey(key: string): boolean {
  return encodeKey(key) >= 0;
}

/**
 * Per-partition last-writer-wins maps. Merging is commutative, associative and idempotent, so
 * replicas that receive the same writes in any order hold the same entries.
 *
 * Entries are packed per partition (partition-records.ts): records in append-only slabs, a
 * hash index and an ordered index in typed arrays, writer ids interned. An entry read back is
 * built on demand; its value is a view into a slab that never changes (see PartitionRecords).
 */
export class LwwStore {
  private readonly partitions = new Map<number, PartitionRecords>();
  /**
   * Writer ids, interned: a record holds an index. Writer ids are the ids of the frontends that
   * stamp writes (plus HORIZON_WRITER_ID's stand-in, never stored), so the table stays small.
   */
  private readonly writers: string[] = [];
  private readonly writerIndex = new Map<string, number>();
  private keyCount = 0;
  private tombstoneCount = 0;
  private byteCount = 0;
  private deadByteCount = 0;
  private valueByteCount = 0;
  private plainValueByteCount = 0;

  get(partition: number, key: string): Entry | undefined {
    const p = this.partitions.get(partition);
    if (!p) return undefined;
    const len = encodeKey(key);
    if (len < 0) return undefined;
    const id = p.find(keyScratch, len, hashKeyBytes(keyScratch, 0, len));
    return id < 0 ? undefined : p.entry(id, this.writers);
  }

  /**
   * Merge an incoming entry; the stored entry changes only if the incoming one is newer. The
   * key must be storable (isStorableKey): the engine refuses others before they get here.
   */
  merge(partition: number, key: string, incoming: Entry): MergeResult {
    const len = encodeKey(key);
    if (len < 0) throw new Error('LwwStore.merge: a key that is not storable (see isStorableKey)');
    const h = hashKeyBytes(keyScratch, 0, len);
    let p = this.partitions.get(partition);
    if (!p) {
      p = new PartitionRecords();
      this.partitions.set(partition, p);
      this.byteCount += p.footprintBytes();
    }
    const id = p.find(keyScratch, len, h);
    const before = p.footprintBytes();
    const deadBefore = p.dead();
    if (id >= 0) {
      const existing = p.entry(id, this.writers);
      const order = compareEntries(incoming, existing);
      if (order === 0) return { outcome: 'duplicate', current: existing };
      if (order < 0) return { outcome: 'stale', current: existing };
      this.account(existing, -1);
      p.replace(id, keyScratch, len, incoming, this.writerId(incoming.ver.w));
    } else {
      p.insert(keyScratch, len, h, incoming, this.writerId(incoming.ver.w));
    }
    this.account(incoming, 1);
    if (p.wantsCompaction()) p.compact();
    this.byteCount += p.footprintBytes() - before;
    this.deadByteCount += p.dead() - deadBefore;
    return { outcome: 'applied', current: incoming };
  }

  /** Would this entry be applied? (used to refuse writes over a memory limit before storing) */
  wouldApply(partition: number, key: string, incoming: Entry): boolean {
    const existing = this.get(partition, key);
    return !existing || compareEntries(incoming, existing) > 0;
  }

  /**
   * Bytes the store would grow by if the entry were applied, once dead space is reclaimed (may
   * be negative): the new record (and a new slab's overhead when it needs one) less the one it
   * supersedes, and for a new key its share of the indexes (and a new partition's overhead).
   */
  growthBytes(partition: number, key: string, incoming: Entry): number {
    const keyBytes = Buffer.byteLength(key, 'utf8');
    const p = this.partitions.get(partition);
    const record = recordBytes(keyBytes, incoming);
    const slab = p ? p.slabCostFor(record) : RECORD_LAYOUT_LIMITS.slabOverheadBytes;
    const existing = this.get(partition, key);
    if (existing) return record + slab - recordBytes(keyBytes, existing);
    return record + slab + RECORD_LAYOUT_LIMITS.indexBytesPerKey + (p ? 0 : RECORD_LAYOUT_LIMITS.partitionOverheadBytes);
  }

  /** Bytes of superseded and purged records not yet reclaimed by compaction. */
  deadBytes(): number {
    return this.deadByteCount;
  }

  /** Compact every partition holding dead space now (the memory limit calls it before refusing a write). Returns the bytes freed. */
  reclaim(): number {
    let freed = 0;
    for (const p of this.partitions.values()) {
      if (p.dead() === 0) continue;
      const before = p.footprintBytes();
      this.deadByteCount -= p.dead();
      p.compact();
      this.deadByteCount += p.dead();
      freed += before - p.footprintBytes();
    }
    this.byteCount -= freed;
    return freed;
  }

  /**
   * Every entry of a partition, in no particular order. The iterator stays valid while the
   * store changes between steps (a snapshot writes it in chunks while requests go on): an
   * entry held throughout is seen once, an entry added meanwhile may or may not be seen, and
   * each entry is read when its step comes (so it is the one current then).
   */
  *entries(partition: number): IterableIterator<[string, Entry]> {
    const p = this.partitions.get(partition);
    if (!p) return;
    for (const id of p.ids()) yield [p.key(id), p.entry(id, this.writers)];
  }

  /**
   * Keys of one partition that start with `prefix` and sort after `after` (null: from the
   * start), in key order (JavaScript string order), at most `max` of them: a binary search
   * plus the page.
   */
  keysAfter(partition: number, after: string | null, prefix: string, max: number): string[] {
    const out: string[] = [];
    const p = this.partitions.get(partition);
    if (!p || max <= 0) return out;
    const fromAfter = after !== null && after >= prefix;
    const len = encodeKey(fromAfter ? after : prefix);
    if (len < 0) {
      // No held key equals the probe, so start from the first key past it: found by string
      // compare, which a probe that cannot be encoded still supports (rare: a bad cursor).
      return this.keysAfterSlow(p, fromAfter ? after : prefix, prefix, max);
    }
    p.visitInOrder(keyScratch, len, fromAfter, (id) => {
      const key = p.key(id);
      // Keys with a common prefix are contiguous in key order: stop at the first that lacks it.
      if (!key.startsWith(prefix)) return false;
      out.push(key);
      return out.length < max;
    });
    return out;
  }

  partitionIds(): number[] {
    return [...this.partitions.keys()].sort((a, b) => a - b);
  }

  keysIn(partition: number): number {
    return this.partitions.get(partition)?.size ?? 0;
  }

  /** Forget a partition this node no longer holds. Returns the number of entries dropped. */
  dropPartition(partition: number): number {
    const p = this.partitions.get(partition);
    if (!p) return 0;
    for (const id of p.ids()) this.account(p.entry(id, this.writers), -1);
    this.byteCount -= p.footprintBytes();
    this.deadByteCount -= p.dead();
    this.partitions.delete(partition);
    return p.size;
  }

  /**
   * Remove tombstones written before `beforeMs` (physical time of their stamp) and values that
   * expired before it. Only safe once every replica has had the chance to see the delete: the
   * caller picks the horizon.
   */
  purgeTombstones(beforeMs: number): number {
    let purged = 0;
    const gone = (since: number | null) => since !== null && since < beforeMs;
    const removed = (e: Entry) => this.account(e, -1);
    for (const p of this.partitions.values()) {
      const before = p.footprintBytes();
      const deadBefore = p.dead();
      purged += p.purge(gone, removed, this.writers);
      if (p.wantsCompaction()) p.compact();
      this.byteCount += p.footprintBytes() - before;
      this.deadByteCount += p.dead() - deadBefore;
    }
    return purged;
  }

  stats(): StoreStats {
    return {
      keys: this.keyCount, tombstones: this.tombstoneCount, bytes: this.byteCount, partitions: this.partitions.size,
      valueBytes: this.valueByteCount, plainValueBytes: this.plainValueByteCount,
    };
  }

  private keysAfterSlow(p: PartitionRecords, probe: string, prefix: string, max: number): string[] {
    const keys: string[] = [];
    for (const id of p.ids()) {
      const key = p.key(id);
      if (key > probe && key.startsWith(prefix)) keys.push(key);
    }
    return keys.sort().slice(0, max);
  }

  private writerId(w: string): number {
    let i = this.writerIndex.get(w);
    if (i === undefined) {
      i = this.writers.length;
      this.writers.push(w);
      this.writerIndex.set(w, i);
    }
    return i;
  }

  private account(entry: Entry, sign: 1 | -1): void {
    if (entry.value === null) this.tombstoneCount += sign;
    else {
      this.keyCount += sign;
      this.valueByteCount += sign * entry.value.length;
      this.plainValueByteCount += sign * (plainBytes(entry) ?? 0);
    }
  }
}
