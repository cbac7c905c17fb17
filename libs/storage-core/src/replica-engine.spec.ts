import type { PartitionTable, WireOp } from '@fog/protocol';
import { ReplicaEngine } from './replica-engine';

function table(epoch: number, holder: Record<number, string[]>): PartitionTable {
  return {
    epoch, digits: 1, redundancy: 1,
    partitions: Array.from({ length: 16 }, (_, p) => ({ replicas: holder[p] ?? ['other'], pending: [] })),
    nodes: { me: { id: 'me', address: 'me:1', zone: 'z', weight: 1, state: 'up' }, other: { id: 'other', address: 'o:1', zone: 'z', weight: 1, state: 'up' } },
  };
}

const put = (p: number, key: string, ms: number, val: string | null): WireOp => ({ op: 'put', p, key, ver: { ms, c: 0, w: 'fe' }, val: val === null ? null : Buffer.from(val).toString('base64') });

describe('ReplicaEngine', () => {
  it('refuses everything before it has a table', () => {
    const e = new ReplicaEngine('me');
    expect(e.handle({ epoch: 0, ops: [put(1, 'k', 1, 'v')] }, 0).results[0]).toEqual({ ok: false, code: 'FOG_ERR_NO_TABLE' });
  });

  it('fences writes for partitions its table does not give it, answering with its epoch', () => {
    const e = new ReplicaEngine('me');
    e.offerTable(table(4, { 1: ['me'] }));
    const res = e.handle({ epoch: 3, ops: [put(1, 'k', 1, 'v'), put(2, 'k', 1, 'v')] }, 0);
    expect(res.epoch).toBe(4);
    expect(res.results[0]).toEqual({ ok: true, outcome: 'applied' });
    expect(res.results[1]).toEqual({ ok: false, code: 'FOG_ERR_WRONG_NODE' });
    expect(e.counters.fenced).toBe(1);
  });

  it('does not answer reads for a partition it is only pending for', () => {
    const e = new ReplicaEngine('me');
    const t = table(1, {});
    t.partitions[5].pending = ['me'];
    e.offerTable(t);
    e.handle({ epoch: 1, ops: [put(5, 'k', 1, 'v')] }, 0);
    expect(e.handle({ epoch: 1, ops: [{ op: 'get', p: 5, key: 'k' }] }, 0).results[0]).toEqual({ ok: false, code: 'FOG_ERR_WRONG_NODE' });
    const active = table(2, { 5: ['me'] });
    e.offerTable(active);
    expect(e.handle({ epoch: 2, ops: [{ op: 'get', p: 5, key: 'k' }] }, 0).results[0]).toMatchObject({ ok: true, entry: { val: Buffer.from('v').toString('base64') } });
  });

  it('accepts writes as a pending replica', () => {
    const e = new ReplicaEngine('me');
    const t = table(1, {});
    t.partitions[5].pending = ['me'];
    e.offerTable(t);
    expect(e.handle({ epoch: 1, ops: [put(5, 'k', 1, 'v')] }, 0).results[0]).toEqual({ ok: true, outcome: 'applied' });
  });

  it('only adopts newer tables', () => {
    const e = new ReplicaEngine('me');
    expect(e.offerTable(table(2, { 1: ['me'] }))).toBe(true);
    expect(e.offerTable(table(1, { 2: ['me'] }))).toBe(false);
    expect(e.offerTable(table(2, { 2: ['me'] }))).toBe(false);
    expect(e.heldPartitions()).toEqual([1]);
  });

  it('reports stale writes with the stored version and counts the discard', () => {
    const e = new ReplicaEngine('me');
    e.offerTable(table(1, { 1: ['me'] }));
    e.handle({ epoch: 1, ops: [put(1, 'k', 10, 'new')] }, 0);
    const res = e.handle({ epoch: 1, ops: [put(1, 'k', 5, 'old'), { op: 'get', p: 1, key: 'k' }] }, 0);
    expect(res.results[0]).toEqual({ ok: true, outcome: 'stale', cur: { ms: 10, c: 0, w: 'fe' } });
    expect(res.results[1]).toEqual({ ok: true, entry: { ver: { ms: 10, c: 0, w: 'fe' }, val: Buffer.from('new').toString('base64') } });
    expect(e.counters.lwwDiscarded).toBe(1);
  });

  it('answers its clock, moved past the versions it stored', () => {
    const e = new ReplicaEngine('me');
    e.offerTable(table(1, { 1: ['me'] }));
    const res = e.handle({ epoch: 1, ops: [put(1, 'k', 50_000, 'v')] }, 40_000);
    expect(res.clock.ms).toBe(50_000);
    expect(res.clock.c).toBeGreaterThan(0);
  });

  it.each<[string, unknown]>([
    ['partition out of range', { op: 'get', p: 16, key: 'k' }],
    ['negative partition', { op: 'get', p: -1, key: 'k' }],
    ['unknown op', { op: 'frobnicate', p: 1, key: 'k' }],
    ['scan without a prefix', { op: 'scan', p: 1, after: null, limit: 10 }],
    ['scan with a zero limit', { op: 'scan', p: 1, prefix: '', after: null, limit: 0 }],
    ['prepare without a ballot', { op: 'prepare', p: 1, key: 'k' }],
    ['propose with a bad entry', { op: 'propose', p: 1, key: 'k', ballot: { ms: 1, c: 0, w: 'fe' }, entry: { ver: { ms: 1, c: 0, w: 'fe' }, val: 5 }, base: null }],
    ['bad version', { op: 'put', p: 1, key: 'k', ver: { ms: -1, c: 0, w: 'fe' }, val: null }],
    ['bad value type', { op: 'put', p: 1, key: 'k', ver: { ms: 1, c: 0, w: 'fe' }, val: 5 }],
    ['key not a string', { op: 'get', p: 1, key: 7 }],
  ])('rejects %s without changing anything', (_name, op) => {
    const e = new ReplicaEngine('me');
    e.offerTable(table(1, { 1: ['me'] }));
    expect(e.handle({ epoch: 1, ops: [op as WireOp] }, 0).results[0]).toMatchObject({ ok: false, code: 'FOG_ERR_BAD_REQUEST' });
    expect(e.store.stats()).toMatchObject({ keys: 0, tombstones: 0 });
  });
});
