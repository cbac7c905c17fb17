import type { PartitionTable, WireOp } from '@fog/protocol';
import { ReplicaEngine } from './replica-engine';

const table: PartitionTable = {
  epoch: 1, digits: 1, redundancy: 1,
  partitions: Array.from({ length: 16 }, () => ({ replicas: ['me'], pending: [] })),
  nodes: { me: { id: 'me', address: 'me:1', zone: 'z', weight: 1, state: 'up' } },
};
const b64 = (s: string) => Buffer.from(s).toString('base64');
const put = (key: string, ms: number, val: string | null, exp?: number): WireOp =>
  exp === undefined ? { op: 'put', p: 1, key, ver: { ms, c: 0, w: 'fe' }, val: val === null ? null : b64(val) }
    : { op: 'put', p: 1, key, ver: { ms, c: 0, w: 'fe' }, val: val === null ? null : b64(val), exp };

function engine(): ReplicaEngine {
  const e = new ReplicaEngine('me');
  e.offerTable(table);
  return e;
}

describe('ReplicaEngine with expiring values', () => {
  it('stores the expiry with the version and returns it on reads', () => {
    const e = engine();
    expect(e.handle({ epoch: 1, ops: [put('k', 1000, 'v', 31_000)] }, 1000).results[0]).toEqual({ ok: true, outcome: 'applied' });
    expect(e.handle({ epoch: 1, ops: [{ op: 'get', p: 1, key: 'k' }] }, 1000).results[0]).toEqual({ ok: true, entry: { ver: { ms: 1000, c: 0, w: 'fe' }, val: b64('v'), exp: 31_000 } });
  });

  it('refuses a malformed expiry and stores nothing', () => {
    const e = engine();
    for (const exp of [0, -5, 1.5, Number.NaN]) {
      expect(e.handle({ epoch: 1, ops: [put('k', 1000, 'v', exp)] }, 1000).results[0]).toEqual({ ok: false, code: 'FOG_ERR_BAD_REQUEST' });
    }
    expect(e.store.get(1, 'k')).toBeUndefined();
  });

  it('purges a value expired longer than the grace period, like a tombstone, and then refuses older writes of the key', () => {
    const e = engine();
    e.handle({ epoch: 1, ops: [put('ttl', 1000, 'v', 5000), put('kept', 1000, 'v'), put('later', 1000, 'v', 50_000)] }, 1000);
    // Expired at 5000, but within the grace period (purge horizon 4000): kept.
    expect(e.collectTombstones(4000).purged).toBe(0);
    const r = e.collectTombstones(6000);
    expect(r.purged).toBe(1);
    expect(r.raised).toEqual([{ partition: 1, ms: 1000 }]);
    expect(e.store.get(1, 'ttl')).toBeUndefined();
    expect(e.store.get(1, 'kept')).toBeDefined();
    expect(e.store.get(1, 'later')).toBeDefined();
    // A replica that missed the expiry offers an older value of the key: it does not come back.
    const back = e.ingest('anti_entropy', 1, 'ttl', { ver: { ms: 900, c: 0, w: 'fe' }, value: Buffer.from('old') });
    expect(back.outcome).toBe('horizon');
    expect(e.store.get(1, 'ttl')).toBeUndefined();
  });

  it('counts the expiry in the entry bytes', () => {
    const a = engine();
    const b = engine();
    a.handle({ epoch: 1, ops: [put('k', 1000, 'v')] }, 1000);
    b.handle({ epoch: 1, ops: [put('k', 1000, 'v', 9000)] }, 1000);
    expect(b.store.stats().bytes - a.store.stats().bytes).toBe(8);
  });
});

describe('ReplicaEngine with compression', () => {
  const big = Buffer.alloc(100 * 1024, 'compressible ');
  const putBig = (key: string, ms: number): WireOp => ({ op: 'put', p: 1, key, ver: { ms, c: 0, w: 'fe' }, val: big.toString('base64') });

  it('stores a compressible value compressed, counts the stored bytes, and answers reads, copies and promises plain', () => {
    const on = engine();
    on.compression = { compressMinBytes: 1024, compressLevel: 1 };
    const off = engine();
    for (const e of [on, off]) expect(e.handle({ epoch: 1, ops: [putBig('k', 1000)] }, 1000).results[0]).toEqual({ ok: true, outcome: 'applied' });
    expect(on.store.stats().bytes).toBeLessThan(off.store.stats().bytes / 20);
    expect(on.store.get(1, 'k')?.z).toBe(big.length);
    const read = on.handle({ epoch: 1, ops: [{ op: 'get', p: 1, key: 'k' }] }, 1000).results[0];
    expect(read).toEqual(off.handle({ epoch: 1, ops: [{ op: 'get', p: 1, key: 'k' }] }, 1000).results[0]);
    // The same write again is a duplicate, not a new version.
    expect(on.handle({ epoch: 1, ops: [putBig('k', 1000)] }, 1000).results[0]).toEqual({ ok: true, outcome: 'duplicate' });
    const prepared = on.handle({ epoch: 1, ops: [{ op: 'prepare', p: 1, key: 'k', ballot: { ms: 2000, c: 0, w: 'fe' } }] }, 1000).results[0];
    expect(prepared).toMatchObject({ ok: true, promise: { entry: { val: big.toString('base64') } } });
  });

  it('refuses under the memory limit by the bytes it would store', () => {
    const e = engine();
    e.compression = { compressMinBytes: 1024, compressLevel: 1 };
    e.memoryLimitBytes = 10 * 1024;
    expect(e.handle({ epoch: 1, ops: [putBig('k', 1000)] }, 1000).results[0]).toEqual({ ok: true, outcome: 'applied' });
    e.compression = null;
    expect(e.handle({ epoch: 1, ops: [putBig('k2', 1000)] }, 1000).results[0]).toEqual({ ok: false, code: 'FOG_ERR_MEMORY_LIMIT' });
  });
});
