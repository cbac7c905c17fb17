import { HybridClock } from '@fog/clock';
import { LwwStore, type Entry, type MergeResult } from '@fog/lww';
import type { OpsRequest, OpsResponse, PartitionTable, WireEntry, WireOp, WireResult } from '@fog/protocol';
import { isVersion, partitionCount } from '@fog/protocol';

export interface EngineCounters {
  /** Writes that lost last-writer-wins on arrival (a newer version was stored). */
  lwwDiscarded: number;
  applied: number;
  duplicates: number;
  fenced: number;
}

/**
 * A storage node's decisions for internal operations: which partitions it may serve (epoch
 * fencing), and last-writer-wins merging. No network or disk: the app hands it requests, the
 * table and the time.
 */
export class ReplicaEngine {
  readonly store = new LwwStore();
  readonly clock = new HybridClock();
  private table: PartitionTable | null = null;
  private held = new Set<number>();
  readonly counters: EngineCounters = { lwwDiscarded: 0, applied: 0, duplicates: 0, fenced: 0 };

  /**
   * Called after every entry that changed the store, whatever brought it (client write, read
   * repair, handoff, anti-entropy): the place where persistence observes the data.
   */
  onApplied: ((partition: number, key: string, entry: Entry) => void) | null = null;

  constructor(readonly nodeId: string) {}

  /** Merge an entry from any source; every path into the store goes through here. */
  mergeEntry(partition: number, key: string, entry: Entry): MergeResult {
    const r = this.store.merge(partition, key, entry);
    if (r.outcome === 'applied' && this.onApplied) this.onApplied(partition, key, entry);
    return r;
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
    table.partitions.forEach((e, p) => {
      if (e.replicas.includes(this.nodeId) || e.pending.includes(this.nodeId)) held.add(p);
    });
    this.held = held;
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
    if (!Number.isInteger(op.p) || op.p < 0 || op.p >= partitionCount(this.table.digits) || typeof op.key !== 'string') {
      return { ok: false, code: 'FOG_ERR_BAD_REQUEST' };
    }
    if (!this.held.has(op.p)) {
      this.counters.fenced++;
      return { ok: false, code: 'FOG_ERR_WRONG_NODE' };
    }
    if (op.op === 'get') {
      const e = this.store.get(op.p, op.key);
      return { ok: true, entry: e ? encode(e) : null };
    }
    if (op.op === 'put') {
      if (!isVersion(op.ver) || (op.val !== null && typeof op.val !== 'string')) return { ok: false, code: 'FOG_ERR_BAD_REQUEST' };
      this.clock.observe(op.ver, nowMs);
      const r = this.mergeEntry(op.p, op.key, { ver: op.ver, value: op.val === null ? null : Buffer.from(op.val, 'base64') });
      if (r.outcome === 'applied') this.counters.applied++;
      else if (r.outcome === 'duplicate') this.counters.duplicates++;
      else {
        this.counters.lwwDiscarded++;
        return { ok: true, outcome: 'stale', cur: r.current.ver };
      }
      return { ok: true, outcome: r.outcome };
    }
    return { ok: false, code: 'FOG_ERR_BAD_REQUEST' };
  }
}

function encode(e: Entry): WireEntry {
  return { ver: e.ver, val: e.value === null ? null : e.value.toString('base64') };
}
