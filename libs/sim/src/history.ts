import type { Version } from '@fog/protocol';

/** One client operation as the workload saw it. */
export interface OpRecord {
  id: number;
  kind: 'write' | 'read';
  key: string;
  frontend: string;
  startMs: number;
  /** Null while in flight (or forever, if its frontend died). */
  endMs: number | null;
  ok: boolean | null;
  /** Write: the version it was acknowledged with. Read: the version it returned (null: none). */
  ver: Version | null;
  /** The value written or read (null: a tombstone or nothing). */
  value: string | null;
  error?: string;
}

export function compareVersions(a: Version, b: Version): number {
  if (a.ms !== b.ms) return a.ms < b.ms ? -1 : 1;
  if (a.c !== b.c) return a.c < b.c ? -1 : 1;
  if (a.w !== b.w) return a.w < b.w ? -1 : 1;
  return 0;
}

export function formatVer(v: Version | null): string {
  return v ? `${v.ms}.${v.c}@${v.w}` : 'none';
}

/**
 * The recorded history, checked as it grows: each acknowledged write per key, in the order
 * of acknowledgement, so that an operation can be compared with every write acknowledged
 * before it started.
 */
export class History {
  readonly ops: OpRecord[] = [];
  private readonly acked = new Map<string, OpRecord[]>();

  begin(kind: OpRecord['kind'], key: string, frontend: string, startMs: number, value: string | null): OpRecord {
    const op: OpRecord = { id: this.ops.length, kind, key, frontend, startMs, endMs: null, ok: null, ver: null, value };
    this.ops.push(op);
    return op;
  }

  /** The newest write of `key` acknowledged before `beforeMs` (strictly). */
  newestAckedBefore(key: string, beforeMs: number): OpRecord | null {
    let best: OpRecord | null = null;
    for (const w of this.acked.get(key) ?? []) {
      if (w.endMs! < beforeMs && (!best || compareVersions(w.ver!, best.ver!) > 0)) best = w;
    }
    return best;
  }

  /** Every key with an acknowledged write, with its newest acknowledged write. */
  newestAcked(): Map<string, OpRecord> {
    const out = new Map<string, OpRecord>();
    for (const [key, list] of this.acked) {
      let best = list[0];
      for (const w of list) if (compareVersions(w.ver!, best.ver!) > 0) best = w;
      out.set(key, best);
    }
    return out;
  }

  ackedKeys(): string[] {
    return [...this.acked.keys()];
  }

  recordAck(op: OpRecord): void {
    const list = this.acked.get(op.key) ?? [];
    list.push(op);
    this.acked.set(op.key, list);
  }

  counts(): { writes: number; writesAcked: number; reads: number; readsOk: number; inFlight: number } {
    let writes = 0, writesAcked = 0, reads = 0, readsOk = 0, inFlight = 0;
    for (const op of this.ops) {
      if (op.kind === 'write') {
        writes++;
        if (op.ok) writesAcked++;
      } else {
        reads++;
        if (op.ok) readsOk++;
      }
      if (op.endMs === null) inFlight++;
    }
    return { writes, writesAcked, reads, readsOk, inFlight };
  }
}
