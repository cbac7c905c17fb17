import type { Entry } from './entry';
import { compareKeyBytes } from './key-order';
import { readRecord, recordBytes, recordGoneSinceMs, recordKeyBytes, recordKeyStart, recordLength, writeRecord } from './record-layout';

/**
 * Bounds and estimates of the compact layout. Bytes are what the process holds, not what the
 * entries would take as JavaScript objects.
 */
export const RECORD_LAYOUT_LIMITS = {
  /** Smallest slab a partition allocates, bytes. */
  slabBytesMin: 1024,
  /** Largest slab, bytes (a record larger than this gets a slab of its own size). */
  slabBytesMax: 1024 * 1024,
  /**
   * A new slab holds this fraction of what the partition's slabs already hold (between the two
   * bounds above): few slabs for a big partition, little unused tail for a small one.
   */
  slabGrowthFraction: 0.125,
  /**
   * A partition is compacted (its live records copied to fresh slabs, the old slabs let go)
   * once superseded and purged records make up this fraction of its slab bytes: memory stays
   * within 1 / (1 - fraction) of the live bytes, and each byte written is copied at most
   * (1 - fraction) / fraction = 2 times on average.
   */
  compactDeadFraction: 1 / 3,
  /** ...and at least this many dead bytes, so that a small partition is not compacted every few writes. */
  compactDeadBytesMin: 4096,
  /** The hash index doubles before more than this fraction of its slots is in use. */
  hashLoadMax: 0.75,
  /** Newly inserted keys wait in a small sorted array until there are this many, then merge into the main one. */
  orderPendingMax: 1024,
  /**
   * Slabs one partition may hold (the u16 slab number of a record, one value kept for "free"):
   * 64 GiB of 1 MiB slabs, more than a node's memory; passing it is an assertion failure.
   */
  slabsPerPartitionMax: 0xfffe,
  /**
   * Estimated bytes of one partition besides its array contents and slabs: its objects, the
   * typed-array and Buffer objects, allocation headers (measured: 65,536 partitions of one key
   * each grew a process by about 2,850 bytes apiece, this plus what is counted otherwise).
   */
  partitionOverheadBytes: 1536,
  /** Estimated bytes of one slab besides its content (Buffer and ArrayBuffer objects, allocation header). */
  slabOverheadBytes: 256,
  /**
   * Estimated index bytes one more key costs (its slab number and offset 6, hash slots 5 to 11
   * at 4 bytes each and 3/8 to 3/4 full, order 4, plus the room of grown arrays): what
   * admission charges a new key for besides its record.
   */
  indexBytesPerKey: 22,
} as const;

const L = RECORD_LAYOUT_LIMITS;
const EMPTY_U16 = new Uint16Array(0);
const EMPTY_U32 = new Uint32Array(0);
const EMPTY_I32 = new Int32Array(0);
/** recSlab value of a record id not in use. */
const FREE = 0xffff;

if (L.slabsPerPartitionMax >= FREE) throw new Error('slabsPerPartitionMax must leave the FREE slab number unused');

/** 32-bit hash of key bytes (FNV-1a, then murmur3's finaliser to spread sequential keys over slots). */
export function hashKeyBytes(b: Uint8Array, start: number, end: number): number {
  let h = 0x811c9dc5 | 0;
  for (let i = start; i < end; i++) {
    h ^= b[i];
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h | 0;
}

/**
 * A length of at least `need`: small arrays grow by half (few reallocations), large ones by an
 * eighth (little unused room: these arrays are most of a key's index bytes), which still
 * keeps the copying per element added constant on average.
 */
function grownLength(have: number, need: number): number {
  let n = Math.max(8, have);
  while (n < need) n = Math.ceil(n < 1024 ? n * 1.5 : n * 1.125);
  return n;
}

function grown<T extends Uint16Array | Uint32Array | Int32Array>(a: T, need: number): T {
  if (a.length >= need) return a;
  const b = new (a.constructor as new (n: number) => T)(grownLength(a.length, need));
  b.set(a);
  return b;
}

/**
 * The entries of one partition, packed:
 * - records (record-layout.ts) appended to slabs, Buffers of their own (not cut from Node's
 *   shared pool, whose 8 KiB blocks a single live view would pin). A slab byte is written once:
 *   a newer entry for a key is appended, the old record becomes dead space, and compaction
 *   copies the live records to fresh slabs and lets the old ones go. A value handed out as a
 *   view into a slab therefore never changes (it keeps its old slab alive until dropped).
 * - a record id per key (stable while the key is held: iterators and the ordered index use
 *   it), with its slab and offset in typed arrays;
 * - an open-addressing hash index (linear probing, backward-shift deletion): key hash → id;
 * - an ordered index: record ids in key order (JavaScript string order, key-order.ts), a
 *   main sorted array plus a small sorted array of recent inserts merged into it in batches,
 *   so that an insert costs O(log n) plus a short move and a page O(log n + page).
 */
export class PartitionRecords {
  private slabs: Buffer[] = [];
  /** Bytes of every slab but the last. */
  private sealedBytes = 0;
  /** Bytes written into the last slab. */
  private lastUsed = 0;
  /** Bytes of records no longer current (superseded, purged) and of unused slab tails. */
  private deadBytes = 0;
  private liveBytes = 0;

  // Empty arrays are shared until first grown (grown() never writes into an array it replaces):
  // a partition holding a few keys costs few objects.
  private recSlab = EMPTY_U16;
  private recOff = EMPTY_U32;
  /** Ids below this have been used; FREE ones among them are on the free list. */
  private idEnd = 0;
  private freeIds = EMPTY_I32;
  private freeCount = 0;
  /** Keys held (values and tombstones). */
  size = 0;

  /** Hash slots: id + 1, 0 for empty. Length a power of two. */
  private slots = new Int32Array(16);

  private sorted = EMPTY_I32;
  private sortedLen = 0;
  private pending = EMPTY_I32;
  private pendingLen = 0;

  /** Bytes this partition holds in memory: slabs (dead space included), index arrays, overhead. */
  footprintBytes(): number {
    return this.sealedBytes + this.lastUsed + this.slabs.length * L.slabOverheadBytes
      + this.recSlab.byteLength + this.recOff.byteLength + this.freeIds.byteLength
      + this.slots.byteLength + this.sorted.byteLength + this.pending.byteLength + L.partitionOverheadBytes;
  }

  /** What a new slab would add to footprintBytes besides its records, if a record of `need` bytes were appended now. */
  slabCostFor(need: number): number {
    const last = this.slabs.length === 0 ? null : this.slabs[this.slabs.length - 1];
    return last !== null && this.lastUsed + need <= last.length ? 0 : L.slabOverheadBytes;
  }

  /** Bytes of records no longer current, reclaimed by the next compaction. */
  dead(): number {
    return this.deadBytes;
  }

  /** The id of the key `key[0, len)` with hash `h`, or -1. */
  find(key: Buffer, len: number, h: number): number {
    const mask = this.slots.length - 1;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const s = this.slots[i];
      if (s === 0) return -1;
      const id = s - 1;
      if (this.keyEquals(id, key, len)) return id;
    }
  }

  entry(id: number, writers: readonly string[]): Entry {
    return readRecord(this.slabs[this.recSlab[id]], this.recOff[id], writers);
  }

  key(id: number): string {
    const slab = this.slabs[this.recSlab[id]];
    const off = this.recOff[id];
    const start = recordKeyStart(slab, off);
    return slab.toString('utf8', start, start + recordKeyBytes(slab, off));
  }

  /** Store the first entry of a new key (not held: the caller found no id). */
  insert(key: Buffer, len: number, h: number, e: Entry, writer: number): void {
    let id: number;
    if (this.freeCount > 0) id = this.freeIds[--this.freeCount];
    else {
      id = this.idEnd++;
      if (id >= this.recSlab.length) {
        this.recSlab = grown(this.recSlab, id + 1);
        this.recOff = grown(this.recOff, id + 1);
      }
    }
    this.append(id, key, len, e, writer);
    this.size++;
    if (this.size > this.slots.length * L.hashLoadMax) this.rehash(this.slots.length * 2);
    else this.hashInsert(id, h);
    this.orderInsert(id, key, len);
  }

  /** Store a newer entry for a held key: appended; the record it supersedes becomes dead space. */
  replace(id: number, key: Buffer, len: number, e: Entry, writer: number): void {
    const old = recordLength(this.slabs[this.recSlab[id]], this.recOff[id]);
    this.deadBytes += old;
    this.liveBytes -= old;
    this.append(id, key, len, e, writer);
  }

  /**
   * Remove the keys whose record `gone` picks (it reads the record's goneSinceMs); `removed`
   * sees each removed entry first. Returns how many were removed.
   */
  purge(gone: (goneSinceMs: number | null) => boolean, removed: (e: Entry) => void, writers: readonly string[]): number {
    let n = 0;
    for (let id = 0; id < this.idEnd; id++) {
      const s = this.recSlab[id];
      if (s === FREE) continue;
      const slab = this.slabs[s];
      const off = this.recOff[id];
      if (!gone(recordGoneSinceMs(slab, off))) continue;
      removed(readRecord(slab, off, writers));
      const len = recordLength(slab, off);
      this.deadBytes += len;
      this.liveBytes -= len;
      this.hashRemove(id);
      this.recSlab[id] = FREE;
      this.freeIds = grown(this.freeIds, this.freeCount + 1);
      this.freeIds[this.freeCount++] = id;
      this.size--;
      n++;
    }
    if (n === 0) return 0;
    this.sortedLen = this.withoutFree(this.sorted, this.sortedLen);
    this.pendingLen = this.withoutFree(this.pending, this.pendingLen);
    // A table that emptied out shrinks back (to at most half full).
    if (this.slots.length > 16 && this.size * 8 < this.slots.length) {
      let cap = 16;
      while (cap * L.hashLoadMax < this.size * 2) cap *= 2;
      this.rehash(cap);
    }
    return n;
  }

  /** True when dead space has reached the compaction threshold. */
  wantsCompaction(): boolean {
    return this.deadBytes >= L.compactDeadBytesMin && this.deadBytes >= (this.sealedBytes + this.lastUsed) * L.compactDeadFraction;
  }

  /**
   * Copy the live records to fresh slabs and let the old ones go. Record ids do not change.
   * Old slabs are never written again: views handed out keep them, unchanged, until dropped.
   */
  compact(): void {
    const fresh: Buffer[] = [];
    let slab: Buffer | null = null;
    let used = 0;
    let sealed = 0;
    let dead = 0;
    let remaining = this.liveBytes;
    for (let id = 0; id < this.idEnd; id++) {
      const s = this.recSlab[id];
      if (s === FREE) continue;
      const from = this.slabs[s];
      const off = this.recOff[id];
      const len = recordLength(from, off);
      if (slab === null || used + len > slab.length) {
        if (slab !== null) {
          sealed += slab.length;
          dead += slab.length - used;
        }
        if (fresh.length >= L.slabsPerPartitionMax) throw new Error('a partition needs more slabs than slabsPerPartitionMax');
        slab = Buffer.allocUnsafeSlow(Math.max(len, Math.min(L.slabBytesMax, remaining)));
        fresh.push(slab);
        used = 0;
      }
      from.copy(slab, used, off, off + len);
      this.recSlab[id] = fresh.length - 1;
      this.recOff[id] = used;
      used += len;
      remaining -= len;
    }
    this.slabs = fresh;
    this.sealedBytes = sealed;
    this.lastUsed = used;
    this.deadBytes = dead;
  }

  /** Ids of held keys, in id order; stays valid while the partition changes (see LwwStore.entries). */
  *ids(): Generator<number> {
    for (let id = 0; id < this.idEnd; id++) if (this.recSlab[id] !== FREE) yield id;
  }

  /**
   * Visit held ids in key order from the first key >= probe (> probe when `strict`), until
   * `visit` returns false. The partition must not change during the visit.
   */
  visitInOrder(probe: Buffer, len: number, strict: boolean, visit: (id: number) => boolean): void {
    let i = this.lowerBound(this.sorted, this.sortedLen, probe, len, strict);
    let j = this.lowerBound(this.pending, this.pendingLen, probe, len, strict);
    while (i < this.sortedLen || j < this.pendingLen) {
      let id: number;
      if (j >= this.pendingLen || (i < this.sortedLen && this.compareIds(this.sorted[i], this.pending[j]) < 0)) id = this.sorted[i++];
      else id = this.pending[j++];
      if (!visit(id)) return;
    }
  }

  private keyEquals(id: number, key: Buffer, len: number): boolean {
    const slab = this.slabs[this.recSlab[id]];
    const off = this.recOff[id];
    if (recordKeyBytes(slab, off) !== len) return false;
    const start = recordKeyStart(slab, off);
    for (let i = 0; i < len; i++) if (slab[start + i] !== key[i]) return false;
    return true;
  }

  private append(id: number, key: Buffer, len: number, e: Entry, writer: number): void {
    const need = recordBytes(len, e, writer);
    let last = this.slabs.length === 0 ? null : this.slabs[this.slabs.length - 1];
    if (last === null || this.lastUsed + need > last.length) {
      if (last !== null) {
        this.sealedBytes += last.length;
        this.deadBytes += last.length - this.lastUsed;
      }
      if (this.slabs.length >= L.slabsPerPartitionMax) throw new Error('a partition needs more slabs than slabsPerPartitionMax');
      const held = this.sealedBytes;
      last = Buffer.allocUnsafeSlow(Math.max(need, Math.min(L.slabBytesMax, Math.max(L.slabBytesMin, Math.floor(held * L.slabGrowthFraction)))));
      this.slabs.push(last);
      this.lastUsed = 0;
    }
    writeRecord(last, this.lastUsed, key, len, e, writer);
    this.recSlab[id] = this.slabs.length - 1;
    this.recOff[id] = this.lastUsed;
    this.lastUsed += need;
    this.liveBytes += need;
  }

  /** The hash of a held key, from its record (not kept per id: it costs less to recompute when needed). */
  private hashOf(id: number): number {
    const slab = this.slabs[this.recSlab[id]];
    const off = this.recOff[id];
    const start = recordKeyStart(slab, off);
    return hashKeyBytes(slab, start, start + recordKeyBytes(slab, off));
  }

  private hashInsert(id: number, h: number): void {
    const mask = this.slots.length - 1;
    let i = h & mask;
    while (this.slots[i] !== 0) i = (i + 1) & mask;
    this.slots[i] = id + 1;
  }

  private hashRemove(id: number): void {
    const slots = this.slots;
    const mask = slots.length - 1;
    let i = this.hashOf(id) & mask;
    while (slots[i] !== id + 1) i = (i + 1) & mask;
    // Backward shift: pull later entries of the probe run into the hole unless their home slot
    // lies cyclically in (hole, their slot], so every key stays reachable from its home.
    for (let j = (i + 1) & mask; slots[j] !== 0; j = (j + 1) & mask) {
      const home = this.hashOf(slots[j] - 1) & mask;
      const stays = i < j ? home > i && home <= j : home > i || home <= j;
      if (!stays) {
        slots[i] = slots[j];
        i = j;
      }
    }
    slots[i] = 0;
  }

  private rehash(cap: number): void {
    this.slots = new Int32Array(cap);
    for (let id = 0; id < this.idEnd; id++) if (this.recSlab[id] !== FREE) this.hashInsert(id, this.hashOf(id));
  }

  private compareIds(a: number, b: number): number {
    const sa = this.slabs[this.recSlab[a]];
    const oa = this.recOff[a];
    const sb = this.slabs[this.recSlab[b]];
    const ob = this.recOff[b];
    const ka = recordKeyStart(sa, oa);
    const kb = recordKeyStart(sb, ob);
    return compareKeyBytes(sa, ka, ka + recordKeyBytes(sa, oa), sb, kb, kb + recordKeyBytes(sb, ob));
  }

  private compareIdToProbe(id: number, probe: Buffer, len: number): number {
    const slab = this.slabs[this.recSlab[id]];
    const off = this.recOff[id];
    const start = recordKeyStart(slab, off);
    return compareKeyBytes(slab, start, start + recordKeyBytes(slab, off), probe, 0, len);
  }

  /** First index in ids[0, n) whose key is >= probe (> probe when strict). */
  private lowerBound(ids: Int32Array, n: number, probe: Buffer, len: number, strict: boolean): number {
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const c = this.compareIdToProbe(ids[mid], probe, len);
      if (c < 0 || (strict && c === 0)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private orderInsert(id: number, key: Buffer, len: number): void {
    const at = this.lowerBound(this.pending, this.pendingLen, key, len, false);
    this.pending = grown(this.pending, this.pendingLen + 1);
    this.pending.copyWithin(at + 1, at, this.pendingLen);
    this.pending[at] = id;
    this.pendingLen++;
    if (this.pendingLen >= L.orderPendingMax) this.mergePending();
  }

  /** Merge the pending ids into the main array: a binary search and one block move per pending id. */
  private mergePending(): void {
    const total = this.sortedLen + this.pendingLen;
    this.sorted = grown(this.sorted, total);
    const sorted = this.sorted;
    let end = total;
    let i = this.sortedLen;
    for (let j = this.pendingLen - 1; j >= 0; j--) {
      const id = this.pending[j];
      let lo = 0;
      let hi = i;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (this.compareIds(sorted[mid], id) < 0) lo = mid + 1;
        else hi = mid;
      }
      sorted.copyWithin(end - (i - lo), lo, i);
      end -= i - lo;
      i = lo;
      sorted[--end] = id;
    }
    this.sortedLen = total;
    this.pendingLen = 0;
    // The pending array shrinks back: a partition that took a burst of inserts does not keep the room.
    if (this.pending.length > 64) this.pending = EMPTY_I32;
  }

  /** Keep the ids that are not FREE, in order; returns the new length. */
  private withoutFree(ids: Int32Array, n: number): number {
    let k = 0;
    for (let i = 0; i < n; i++) if (this.recSlab[ids[i]] !== FREE) ids[k++] = ids[i];
    return k;
  }
}
