import type { PartitionTable, WireOp } from '@fog/protocol';
import { LwwStore } from '@fog/lww';
import { ReplicaEngine } from './replica-engine';
import { OrderedKeyIndex } from './ordered-keys';
import { scanPartition } from './scan';

const ver = (ms: number) => ({ ms, c: 0, w: 'fe' });

function storeWith(entries: Array<[number, string, string | null]>): LwwStore {
  const s = new LwwStore();
  let ms = 1;
  for (const [p, key, val] of entries) s.merge(p, key, { ver: ver(ms++), value: val === null ? null : Buffer.from(val) });
  return s;
}

describe('scanPartition', () => {
  const SEP = '\u0001';
  const store = storeWith([
    [3, `b${SEP}c`, 'ccc'],
    [3, `b${SEP}a`, 'a'],
    [3, `b${SEP}b`, null],
    [3, `bb${SEP}x`, 'other bucket'],
    [3, 'b', 'plain key'],
    [4, `b${SEP}z`, 'other partition'],
  ]);

  it('returns the prefixed keys of one partition in key order, tombstones with size null', () => {
    expect(scanPartition(new OrderedKeyIndex(store), 3, `b${SEP}`, null, 10)).toEqual({
      items: [
        { key: `b${SEP}a`, ver: ver(2), size: 1 },
        { key: `b${SEP}b`, ver: ver(3), size: null },
        { key: `b${SEP}c`, ver: ver(1), size: 3 },
      ],
      more: false,
    });
  });

  it('pages with a cursor and says when the limit cut it short', () => {
    const first = scanPartition(new OrderedKeyIndex(store), 3, `b${SEP}`, null, 2);
    expect(first.items.map((i) => i.key)).toEqual([`b${SEP}a`, `b${SEP}b`]);
    expect(first.more).toBe(true);
    const second = scanPartition(new OrderedKeyIndex(store), 3, `b${SEP}`, first.items[1].key, 2);
    expect(second.items.map((i) => i.key)).toEqual([`b${SEP}c`]);
    expect(second.more).toBe(false);
  });

  it('is empty for a partition it never saw', () => {
    expect(scanPartition(new OrderedKeyIndex(store), 9, '', null, 5)).toEqual({ items: [], more: false });
  });
});

describe('ReplicaEngine scan op', () => {
  const table: PartitionTable = {
    epoch: 1, digits: 1, redundancy: 1,
    partitions: Array.from({ length: 16 }, (_, p) => ({ replicas: p === 2 ? ['me'] : ['other'], pending: [] })),
    nodes: { me: { id: 'me', address: 'me:1', zone: 'z', weight: 1, state: 'up' }, other: { id: 'other', address: 'o:1', zone: 'z', weight: 1, state: 'up' } },
  };

  it('answers a held partition and fences the others', () => {
    const e = new ReplicaEngine('me');
    e.offerTable(table);
    const put = (key: string): WireOp => ({ op: 'put', p: 2, key, ver: ver(5), val: Buffer.from('v').toString('base64') });
    e.handle({ epoch: 1, ops: ['k2', 'k1', 'j'].map(put) }, 0);
    const res = e.handle({ epoch: 1, ops: [{ op: 'scan', p: 2, prefix: 'k', after: null, limit: 1 }, { op: 'scan', p: 3, prefix: 'k', after: null, limit: 1 }] }, 0);
    expect(res.results[0]).toEqual({ ok: true, items: [{ key: 'k1', ver: ver(5), size: 1 }], more: true });
    expect(res.results[1]).toEqual({ ok: false, code: 'FOG_ERR_WRONG_NODE' });
  });
});
