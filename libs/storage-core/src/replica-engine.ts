import { DIGEST_BUCKETS, NO_HORIZON_MS, PartitionDigests } from '@fog/replica-sync';
import { HybridClock } from '@fog/clock';
import { compressEntry, goneSinceMs, isStorableKey, LwwStore, plainEntry, type CompressionConfig, type Entry } from '@fog/lww';
import type { ErrorCode, OpsRequest, OpsResponse, PartitionTable, WireOp, WireResult } from '@fog/protocol';
import { decodeWireEntry, encodeWireEntry, isExpiry, isVersion, partitionCount } from '@fog/protocol';
import { CasRegisters } from './cas-registers';
import { OrderedKeyIndex } from './ordered-keys';
import { applySurfaceOp } from './surface-ops';

/** Writer id of the stand-in version a horizon refusal reports (see ingest). */
export const HORIZON_WRITER_ID = 'fog-purge-horizon';

/**
 * What brought an entry to this replica. Every source passes the same admission (disk gate,
 * memory limit, tombstone horizon) except `replay`, the node's own log read back at start-up:
 * it rebuilds what was already admitted, and must load even above the memory limit (a warning
 * says so) since refusing would lose acknowledged data.
 */
export type IngestSource = 'client' | 'repair' | 'hint' | 'copy' | 'anti_entropy' | 'retire' | 'replay';
export const INGEST_SOURCES: readonly IngestSource[] = ['client', 'repair', 'hint', 'copy', 'anti_entropy', 'retire', 'replay'];

/**
 * The result of offering an entry: applied (newer, stored), duplicate (the same version was
 * held), stale (an equal-or-newer version is held: current), horizon (refused by the horizon
 * rule: current is a stand-in just after the horizon), refused (disk or memory: code).
 */
export type IngestResult =
  | { outcome: 'applied' | 'duplicate' | 'stale' | 'horizon'; current: Entry }
  | { outcome: 'refused'; code: ErrorCode };

export interface EngineCounters {
  /** Writes that lost last-writer-wins on arrival (a newer version was stored). */
  lwwDiscarded: number;
  applied: number;
  duplicates: number;
  fenced: number;
  /** Writes refused because the disk log is failing (FOG_ERR_INSUFFICIENT_STORAGE). */
  refusedDisk: number;
  /** Writes refused because they would take the node over its memory limit (FOG_ERR_MEMORY_LIMIT). */
  refusedMemory: number;
  /** Entries refused because a purged tombstone may have deleted them (the horizon rule). */
  horizonRefused: number;
  /** Entries stored, by what brought them. */
  appliedBy: Record<IngestSource, number>;
}

/**
 * A storage node's decisions for internal operations: which partitions it may serve (epoch
 * fencing), and last-writer-wins merging. No network or disk: the app hands it requests, the
 * table and the time.
 */
export class ReplicaEngine {
  readonly store = new LwwStore();
  /** The store's keys in order, per partition: listings and partition copies page through it. */
  readonly keys = new OrderedKeyIndex(this.store);
  readonly clock = new HybridClock();
  private table: PartitionTable | null = null;
  private held = new Set<number>();
  /** Partitions this node is an active replica of: the only ones it answers reads for. */
  private active = new Set<number>();
  readonly counters: EngineCounters = {
    lwwDiscarded: 0, applied: 0, duplicates: 0, fenced: 0, refusedDisk: 0, refusedMemory: 0, horizonRefused: 0,
    appliedBy: { client: 0, repair: 0, hint: 0, copy: 0, anti_entropy: 0, retire: 0, replay: 0 },
  };
  /** Per partition, the hash digests anti-entropy compares, kept up to date with every change. */
  readonly digests = new PartitionDigests(DIGEST_BUCKETS);
  /** Per partition: the newest stamp of a tombstone purged here (absent: none purged). */
  private readonly horizons = new Map<number, number>();
  /** Store values compressed when that saves bytes (value-codec in libs/lww); null: never. */
  compression: CompressionConfig | null = null;
  /** Bytes the store may hold (its stats().bytes: records, indexes, overhead); null: no limit. */
  memoryLimitBytes: number | null = null;
  /** Asked before new data is stored: a code refuses it (the app closes it when its disk log fails). */
  writeGate: (() => ErrorCode | null) | null = null;
  /** Promises and accepted proposals of conditional writes (in memory only). */
  readonly cas = new CasRegisters();
  /** Called when a partition is dropped, so that persistence records it. */
  onDropped: ((partition: number) => void) | null = null;

  /**
   * Called after every entry that changed the store, whatever brought it (client write, read
   * repair, handoff, anti-entropy): the place where persistence observes the data.
   */
  onApplied: ((partition: number, key: string, entry: Entry) => void) | null = null;

  constructor(readonly nodeId: string) {}

  /**
   * The one door into the store: every entry, whatever brought it (a client write, a read
   * repair, a hint, a partition copy, anti-entropy, log replay), comes through here and passes
   * the same admission before it is merged last-writer-wins (replay excepted, see IngestSource).
   *
   * The horizon rule: once tombstones of a partition stamped up to H were purged here, an
   * entry stamped at or before H for a key this node lacks may be one of the values those
   * tombstones deleted, so it is refused as stale (reported against a stand-in version just
   * after H, so that a frontend re-stamps a client write above it). Without this, a replica
   * that was away longer than the grace period would bring deleted keys back.
   */
  ingest(source: IngestSource, partition: number, key: string, offered: Entry): IngestResult {
    // Keys reach the store from peers too: one it cannot hold (a lone surrogate, over 64 KiB
    // of UTF-8) is refused here, whatever brought it, rather than stored under another key.
    if (!isStorableKey(key)) return { outcome: 'refused', code: 'FOG_ERR_KEY_INVALID' };
    // Compressed before admission, so that the memory limit counts the bytes stored. Replayed
    // entries are already as this node stored them.
    const entry = this.compression && source !== 'replay' ? compressEntry(offered, this.compression) : offered;
    if (source !== 'replay') {
      const refusal = this.admit(partition, key, entry);
      if (refusal) return { outcome: 'refused', code: refusal };
      const horizon = this.horizons.get(partition);
      if (horizon !== undefined && entry.ver.ms <= horizon && !this.store.get(partition, key)) {
        this.counters.horizonRefused++;
        return { outcome: 'horizon', current: { ver: { ms: horizon + 1, c: 0, w: HORIZON_WRITER_ID }, value: null } };
      }
    }
    const before = this.store.get(partition, key);
    const r = this.store.merge(partition, key, entry);
    if (r.outcome === 'applied') {
      this.digests.update(partition, key, before, entry);
      this.counters.appliedBy[source]++;
      if (source !== 'replay') this.onApplied?.(partition, key, entry);
    }
    return r;
  }

  /**
   * Why new data may not be stored now, or null when it may: the disk gate first (while the
   * log fails every write is refused, even one that would change nothing, since its
   * acknowledgement would claim a durability the node cannot give), then the memory limit
   * (only for entries that would grow the store: deletes and overwrites with smaller values
   * always pass, so a full node can be emptied).
   */
  admit(partition: number, key: string, entry: Entry): ErrorCode | null {
    const gate = this.writeGate?.() ?? null;
    if (gate) {
      this.counters.refusedDisk++;
      return gate;
    }
    if (this.memoryLimitBytes !== null && this.store.wouldApply(partition, key, entry)) {
      const growth = this.store.growthBytes(partition, key, entry);
      const excess = growth > 0 ? this.store.stats().bytes + growth - this.memoryLimitBytes : 0;
      // Superseded and deleted records stay in memory until compaction: reclaim them before
      // refusing, when that makes room (so deletes do free room for new writes at once).
      if (excess > 0 && (this.store.deadBytes() < excess || this.store.reclaim() < excess)) {
        this.counters.refusedMemory++;
        return 'FOG_ERR_MEMORY_LIMIT';
      }
    }
    return null;
  }

  /** Newest purged tombstone stamp of a partition, or NO_HORIZON_MS. */
  horizonMs(partition: number): number {
    return this.horizons.get(partition) ?? NO_HORIZON_MS;
  }

  /** Every partition's horizon (for snapshots). */
  allHorizons(): Array<{ partition: number; ms: number }> {
    return [...this.horizons].map(([partition, ms]) => ({ partition, ms }));
  }

  /** Raise a partition's horizon (never lowers it). Returns true when it moved. */
  raiseHorizon(partition: number, ms: number): boolean {
    if (ms <= (this.horizons.get(partition) ?? NO_HORIZON_MS)) return false;
    this.horizons.set(partition, ms);
    return true;
  }

  /**
   * Purge tombstones stamped before `beforeMs` and values that expired before it (an expired
   * value is gone like a deleted one), and raise each partition's horizon to the newest stamp
   * it purged, so that no older write of those keys comes back. The caller persists the
   * raised horizons.
   */
  collectTombstones(beforeMs: number): { purged: number; raised: Array<{ partition: number; ms: number }> } {
    const newest = new Map<number, number>();
    const purgeable = (e: Entry) => {
      const since = goneSinceMs(e);
      return since !== null && since < beforeMs;
    };
    for (const p of this.store.partitionIds()) {
      for (const [, e] of this.store.entries(p)) {
        if (purgeable(e) && e.ver.ms > (newest.get(p) ?? NO_HORIZON_MS)) newest.set(p, e.ver.ms);
      }
    }
    if (newest.size === 0) return { purged: 0, raised: [] };
    for (const p of newest.keys()) {
      for (const [key, e] of this.store.entries(p)) if (purgeable(e)) this.digests.update(p, key, e, undefined);
    }
    const purged = this.store.purgeTombstones(beforeMs);
    const raised: Array<{ partition: number; ms: number }> = [];
    for (const [partition, ms] of newest) if (this.raiseHorizon(partition, ms)) raised.push({ partition, ms });
    return { purged, raised };
  }

  /** Forget a partition this node no longer holds: its entries and its horizon. */
  dropPartition(partition: number): number {
    const dropped = this.store.dropPartition(partition);
    this.digests.drop(partition);
    this.horizons.delete(partition);
    this.onDropped?.(partition);
    return dropped;
  }

  epoch(): number {
    return this.table?.epoch ?? 0;
  }

  currentTable(): PartitionTable | null {
    return this.table;
  }

  /** Adopt a table if it is newer. Returns true when adopted. */
  offerTable(table: PartitionTable): boolean {
    if (this.table && table.epoch <= this.table.epoch) return false;
    this.table = table;
    const held = new Set<number>();
    const active = new Set<number>();
    table.partitions.forEach((e, p) => {
      if (e.replicas.includes(this.nodeId)) active.add(p);
      if (e.replicas.includes(this.nodeId) || e.pending.includes(this.nodeId)) held.add(p);
    });
    this.held = held;
    this.active = active;
    return true;
  }

  /** Partitions this node's table gives it (active or pending). */
  heldPartitions(): number[] {
    return [...this.held].sort((a, b) => a - b);
  }

  holds(partition: number): boolean {
    return this.held.has(partition);
  }

  handle(req: OpsRequest, nowMs: number): OpsResponse {
    const results = req.ops.map((op) => this.apply(op, nowMs));
    return { epoch: this.epoch(), clock: this.clock.now(nowMs), results };
  }

  private apply(op: WireOp, nowMs: number): WireResult {
    if (!this.table) return { ok: false, code: 'FOG_ERR_NO_TABLE' };
    if (!Number.isInteger(op.p) || op.p < 0 || op.p >= partitionCount(this.table.digits) || typeof (op.op === 'scan' ? op.prefix : op.key) !== 'string') {
      return { ok: false, code: 'FOG_ERR_BAD_REQUEST' };
    }
    if (!this.held.has(op.p)) {
      this.counters.fenced++;
      return { ok: false, code: 'FOG_ERR_WRONG_NODE' };
    }
    if ((op.op === 'get' || op.op === 'scan') && !this.active.has(op.p)) {
      // A pending replica is still copying: answering a read from it could miss data. A
      // frontend asking it holds an old table and is told so.
      this.counters.fenced++;
      return { ok: false, code: 'FOG_ERR_WRONG_NODE' };
    }
    if (op.op === 'get') {
      const e = this.store.get(op.p, op.key);
      return { ok: true, entry: e ? encodeWireEntry(plainEntry(e)) : null };
    }
    if (op.op === 'put') {
      if (!isVersion(op.ver) || (op.val !== null && typeof op.val !== 'string') || !isExpiry(op.exp)) return { ok: false, code: 'FOG_ERR_BAD_REQUEST' };
      this.clock.observe(op.ver, nowMs);
      const entry: Entry = decodeWireEntry(op);
      const r = this.ingest(op.via === 'hint' ? 'hint' : op.via === 'repair' ? 'repair' : 'client', op.p, op.key, entry);
      if (r.outcome === 'refused') return { ok: false, code: r.code };
      if (op.cas === true) this.cas.committed(op.p, op.key, op.ver, nowMs);
      if (r.outcome === 'applied') this.counters.applied++;
      else if (r.outcome === 'duplicate') this.counters.duplicates++;
      else {
        // A horizon refusal is counted by ingest, not as a last-writer-wins loss.
        if (r.outcome === 'stale') this.counters.lwwDiscarded++;
        return { ok: true, outcome: 'stale', cur: r.current.ver };
      }
      return { ok: true, outcome: r.outcome };
    }
    return applySurfaceOp(this.keys, this.cas, op, nowMs) ?? { ok: false, code: 'FOG_ERR_BAD_REQUEST' };
  }
}
