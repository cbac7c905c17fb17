import type { PartitionTable, WireScanItem } from '@fog/protocol';
import { partitionOf } from '@fog/partitioning';
import { locate } from './locate';
import { mergeScanPages } from './scan-merge';

const DIGITS = 1;

function tableFor(ids: string[], epoch = 1): PartitionTable {
  const nodes: PartitionTable['nodes'] = {};
  for (const id of ids) nodes[id] = { id, address: id, zone: `zone-${id}`, weight: 1, state: 'up' };
  return {
    epoch, digits: DIGITS, redundancy: ids.length,
    partitions: Array.from({ length: 16 }, () => ({ replicas: [...ids], pending: [], why: ids.map((_, i) => (i === 0 ? 'rank' : 'zone')) })),
    nodes,
  };
}

// The coordinator against replicas (batches, scans, bucket items) is tested in libs/sim
// (coordinator-surface.spec.ts), on the simulation's clock and network.
describe('scan', () => {
  const v = (ms: number) => ({ ms, c: 0, w: 'fe' });
  const item = (key: string, ms: number, size: number | null): WireScanItem => ({ key, ver: v(ms), size });

  it('merges replicas: newest version wins, tombstones hide items', () => {
    const merged = mergeScanPages([
      { items: [item('a', 1, 1), item('b', 5, null), item('c', 1, 3)], more: false },
      { items: [item('a', 2, 2), item('b', 4, 4), item('d', 1, 1)], more: false },
    ], 10);
    expect(merged).toEqual({ items: [item('a', 2, 2), item('c', 1, 3), item('d', 1, 1)], next: null });
  });

  it('stops at the smallest end of a full page and hands out a cursor', () => {
    const merged = mergeScanPages([
      { items: [item('a', 1, 1), item('b', 1, 1)], more: true },
      { items: [item('a', 1, 1), item('c', 1, 1)], more: false },
    ], 2);
    expect(merged).toEqual({ items: [item('a', 1, 1), item('b', 1, 1)], next: 'b' });
  });
});

describe('locate', () => {
  it('names the partition, the epoch, every replica with why it is there, and where to run', () => {
    const t = tableFor(['a', 'b', 'c'], 7);
    t.nodes.a.state = 'down';
    t.partitions[partitionOf('k', DIGITS)].pending = ['d'];
    t.nodes.d = { id: 'd', address: 'd:1', zone: 'z9', weight: 1, state: 'up' };
    const loc = locate(t, 'k');
    expect(loc).toMatchObject({ key: 'k', partition: partitionOf('k', DIGITS), epoch: 7, preferred: 'b' });
    expect(loc.partitionHex).toBe(partitionOf('k', DIGITS).toString(16));
    expect(loc.replicas.map((r) => [r.id, r.role, r.state, r.why])).toEqual([
      ['a', 'active', 'down', 'rank'], ['b', 'active', 'up', 'zone'], ['c', 'active', 'up', 'zone'], ['d', 'pending', 'up', null],
    ]);
    expect(loc.replicas[0].reason).toMatch(/rendezvous/);
    expect(loc.replicas[1].reason).toMatch(/zone/);
    expect(loc.replicas[3].reason).toMatch(/copy/);
  });

  it('places a bucket item by its bucket', () => {
    const t = tableFor(['a']);
    expect(locate(t, 'photos\u0001cat', 'photos').partition).toBe(partitionOf('photos', DIGITS));
  });
});
