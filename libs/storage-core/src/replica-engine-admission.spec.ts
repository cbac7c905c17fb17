import type { Entry } from '@fog/lww';
import type { PartitionTable, WireOp } from '@fog/protocol';
import { NO_HORIZON_MS } from '@fog/replica-sync';
import { HORIZON_WRITER_ID, ReplicaEngine } from './replica-engine';

function table(): PartitionTable {
  return {
    epoch: 1, digits: 1, redundancy: 1,
    partitions: Array.from({ length: 16 }, () => ({ replicas: ['me'], pending: [] })),
    nodes: { me: { id: 'me', address: 'me:1', zone: 'z', weight: 1, state: 'up' } },
  };
}

const put = (p: number, key: string, ms: number, val: string | null): WireOp => ({ op: 'put', p, key, ver: { ms, c: 0, w: 'fe' }, val: val === null ? null : Buffer.from(val).toString('base64') });
const entry = (ms: number, value: string | null): Entry => ({ ver: { ms, c: 0, w: 'fe' }, value: value === null ? null : Buffer.from(value) });

function engine(): ReplicaEngine {
  const e = new ReplicaEngine('me');
  e.offerTable(table());
  return e;
}

describe('ReplicaEngine admission', () => {
  it('refuses every put while the write gate is closed, and stores nothing', () => {
    const e = engine();
    e.handle({ epoch: 1, ops: [put(1, 'k', 1, 'v')] }, 0);
    let failing = true;
    e.writeGate = () => (failing ? 'FOG_ERR_INSUFFICIENT_STORAGE' : null);
    const res = e.handle({ epoch: 1, ops: [put(1, 'new', 2, 'v'), put(1, 'k', 1, 'v'), { op: 'get', p: 1, key: 'k' }] }, 0);
    expect(res.results[0]).toEqual({ ok: false, code: 'FOG_ERR_INSUFFICIENT_STORAGE' });
    // Even a duplicate: its acknowledgement would claim durability the node cannot give.
    expect(res.results[1]).toEqual({ ok: false, code: 'FOG_ERR_INSUFFICIENT_STORAGE' });
    expect(res.results[2]).toMatchObject({ ok: true, entry: { ver: { ms: 1 } } });
    expect(e.store.get(1, 'new')).toBeUndefined();
    expect(e.counters.refusedDisk).toBe(2);
    failing = false;
    expect(e.handle({ epoch: 1, ops: [put(1, 'new', 2, 'v')] }, 0).results[0]).toEqual({ ok: true, outcome: 'applied' });
  });

  it('refuses writes that would grow the store past the memory limit, but not deletes or shrinking overwrites', () => {
    const big = 'x'.repeat(2000);
    // Room for two such keys and a little more: what two of them take, measured.
    const two = engine();
    two.handle({ epoch: 1, ops: [put(1, 'k0', 10, big), put(1, 'k1', 10, big)] }, 0);
    const limit = two.store.stats().bytes + 50;
    const e = engine();
    e.memoryLimitBytes = limit;
    const results = Array.from({ length: 5 }, (_, i) => e.handle({ epoch: 1, ops: [put(1, `k${i}`, 10, big)] }, 0).results[0]);
    expect(results.filter((r) => r.ok)).toHaveLength(2);
    expect(results[2]).toEqual({ ok: false, code: 'FOG_ERR_MEMORY_LIMIT' });
    expect(e.store.stats().bytes).toBeLessThanOrEqual(limit);
    expect(e.counters.refusedMemory).toBe(3);
    expect(e.handle({ epoch: 1, ops: [put(1, 'k0', 11, 'small')] }, 0).results[0]).toEqual({ ok: true, outcome: 'applied' });
    expect(e.handle({ epoch: 1, ops: [put(1, 'k1', 11, null)] }, 0).results[0]).toEqual({ ok: true, outcome: 'applied' });
    // Stale writes are answered as usual: they would store nothing.
    expect(e.handle({ epoch: 1, ops: [put(1, 'k0', 5, big)] }, 0).results[0]).toMatchObject({ ok: true, outcome: 'stale' });
    // The overwritten and deleted values are dead space until compacted: admission reclaims
    // it rather than refuse, so the delete made room for a value as big at once...
    expect(e.store.deadBytes()).toBeGreaterThan(0);
    expect(e.admit(1, 'k1', entry(20, big))).toBeNull();
    expect(e.store.deadBytes()).toBe(0);
    expect(e.handle({ epoch: 1, ops: [put(1, 'k1', 20, big)] }, 0).results[0]).toEqual({ ok: true, outcome: 'applied' });
    expect(e.store.stats().bytes).toBeLessThanOrEqual(limit);
    // ...but for one only: the other was replaced by a small value, not deleted.
    expect(e.handle({ epoch: 1, ops: [put(1, 'k9', 20, big)] }, 0).results[0]).toEqual({ ok: false, code: 'FOG_ERR_MEMORY_LIMIT' });
  });
});

describe('ReplicaEngine tombstone collection and the horizon rule', () => {
  it('purges tombstones older than the cut-off and raises the horizon to the newest purged stamp', () => {
    const e = engine();
    e.ingest('anti_entropy', 1, 'a', entry(100, null));
    e.ingest('anti_entropy', 1, 'b', entry(300, null));
    e.ingest('anti_entropy', 1, 'c', entry(900, null));
    e.ingest('anti_entropy', 2, 'd', entry(50, 'live'));
    expect(e.collectTombstones(500)).toEqual({ purged: 2, raised: [{ partition: 1, ms: 300 }] });
    expect(e.horizonMs(1)).toBe(300);
    expect(e.horizonMs(2)).toBe(NO_HORIZON_MS);
    expect(e.store.get(1, 'c')?.value).toBeNull();
    expect(e.collectTombstones(500)).toEqual({ purged: 0, raised: [] });
  });

  it('refuses an old entry for a key it lacks once a newer tombstone was purged, from any path', () => {
    const e = engine();
    e.ingest('anti_entropy', 1, 'deleted', entry(200, null));
    e.collectTombstones(1000);
    // A replica that missed the delete offers the old value back: refused.
    expect(e.ingest('anti_entropy', 1, 'deleted', entry(150, 'zombie')).outcome).toBe('horizon');
    const viaOps = e.handle({ epoch: 1, ops: [put(1, 'deleted', 150, 'zombie')] }, 0).results[0];
    expect(viaOps).toEqual({ ok: true, outcome: 'stale', cur: { ms: 201, c: 0, w: HORIZON_WRITER_ID } });
    expect(e.store.get(1, 'deleted')).toBeUndefined();
    expect(e.counters.horizonRefused).toBe(2);
    expect(e.counters.lwwDiscarded).toBe(0);
    // Newer than the horizon: ordinary last-writer-wins.
    expect(e.ingest('anti_entropy', 1, 'deleted', entry(201, 'again')).outcome).toBe('applied');
    // Other partitions are unaffected.
    expect(e.ingest('anti_entropy', 2, 'x', entry(1, 'old')).outcome).toBe('applied');
  });

  it('still merges old versions of keys it holds', () => {
    const e = engine();
    e.ingest('anti_entropy', 1, 'gone', entry(500, null));
    e.ingest('anti_entropy', 1, 'kept', entry(100, 'v1'));
    e.collectTombstones(1000);
    expect(e.ingest('anti_entropy', 1, 'kept', entry(120, 'v2')).outcome).toBe('applied');
  });

  it('forgets the horizon with the partition, and tells persistence', () => {
    const e = engine();
    const dropped: number[] = [];
    e.onDropped = (p) => dropped.push(p);
    e.ingest('anti_entropy', 3, 'a', entry(10, null));
    e.collectTombstones(100);
    expect(e.horizonMs(3)).toBe(10);
    e.dropPartition(3);
    expect(e.horizonMs(3)).toBe(NO_HORIZON_MS);
    expect(dropped).toEqual([3]);
    expect(e.raiseHorizon(3, 5)).toBe(true);
    expect(e.raiseHorizon(3, 4)).toBe(false);
  });

  it('gives deleted values\' room back to new writes under the limit, whatever partitions the keys fall in', () => {
    // A node filled to its limit with 1,000-byte values, two of them deleted: one value of the
    // same size fits again (compaction reclaims the deleted records; the tombstones and slab
    // overheads take a little of the room, so one delete is not always enough).
    const limit = 20_000;
    const value = Buffer.alloc(1000, 1).toString('base64');
    const big: PartitionTable = { ...table(), digits: 2, partitions: Array.from({ length: 256 }, () => ({ replicas: ['me'], pending: [] })) };
    const at = (p: number, key: string, ms: number, val: string | null): WireOp => ({ op: 'put', p, key, ver: { ms, c: 0, w: 'frontend-127.0.0.1-1234' }, val });
    for (let layout = 0; layout < 200; layout++) {
      const e = new ReplicaEngine('me');
      e.offerTable(big);
      e.memoryLimitBytes = limit;
      let seed = layout * 7919 + 1;
      const parts = Array.from({ length: 40 }, () => {
        seed = (seed * 1103515245 + 12345) & 0x7fffffff;
        return seed % 256;
      });
      const filled = parts.map((p, i) => e.handle({ epoch: 1, ops: [at(p, `k-${i}`, 1000 + i, value)] }, 0).results[0]);
      expect({ layout, refused: filled.some((r) => !r.ok) }).toEqual({ layout, refused: true });
      const deleted = e.handle({ epoch: 1, ops: [at(parts[0], 'k-0', 2000, null), at(parts[1], 'k-1', 2000, null)] }, 0).results;
      expect(deleted.every((r) => r.ok)).toBe(true);
      const again = e.handle({ epoch: 1, ops: [at(parts[0], 'k-0', 3000, value)] }, 0).results[0];
      expect({ layout, again }).toEqual({ layout, again: { ok: true, outcome: 'applied' } });
    }
  });
});
