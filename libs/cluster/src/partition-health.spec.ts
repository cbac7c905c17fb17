import type { NodeState, PartitionTable } from '@fog/protocol';
import { partitionHealth } from './partition-health';

function table(states: Record<string, NodeState>, partitions: Array<{ replicas: string[]; pending?: string[] }>, digits = 1, redundancy = 3): PartitionTable {
  const nodes = Object.fromEntries(Object.entries(states).map(([id, state]) => [id, { id, address: `h:${id.length}`, zone: 'z', weight: 1, state }]));
  const all = Array.from({ length: 16 ** digits }, (_, p) => partitions[p] ?? { replicas: ['a', 'b', 'c'] });
  return { epoch: 1, digits, redundancy, nodes, partitions: all.map((e) => ({ replicas: e.replicas, pending: e.pending ?? [] })) };
}

describe('partition health', () => {
  it.each<[string, Record<string, NodeState>, number, number, number]>([
    ['every replica up', { a: 'up', b: 'up', c: 'up' }, 16, 0, 0],
    ['a leaving node still serves', { a: 'leaving', b: 'up', c: 'up' }, 16, 0, 0],
    ['one replica down', { a: 'down', b: 'up', c: 'up' }, 0, 16, 0],
    ['two replicas out or down', { a: 'out', b: 'down', c: 'up' }, 0, 16, 0],
    ['no replica up', { a: 'down', b: 'down', c: 'out' }, 0, 0, 16],
  ])('%s', (_name, states, healthy, under, unavailable) => {
    const h = partitionHealth(table(states, []));
    expect([h.healthy, h.underReplicated, h.unavailable]).toEqual([healthy, under, unavailable]);
  });

  it('does not count pending replicas: they cannot be read until their copy is done', () => {
    const h = partitionHealth(table({ a: 'up', b: 'up', c: 'up', d: 'up' }, [{ replicas: ['a', 'b'], pending: ['d'] }]));
    expect(h.underReplicated).toBe(1);
    expect(h.affected).toEqual([{ partition: 0, health: 'under_replicated', up: 2, active: 2, pending: 1 }]);
  });

  it('counts partitions below a majority of K, where default-quorum requests fail', () => {
    const h = partitionHealth(table({ a: 'up', b: 'down', c: 'down', d: 'up' }, [{ replicas: ['a', 'd', 'b'] }]));
    expect(h.underReplicated).toBe(16);
    expect(h.belowQuorum).toBe(15);
  });

  it('lists the worst partitions first, bounded by affectedMax', () => {
    const parts = [{ replicas: ['a', 'b', 'c'] }, { replicas: ['d', 'e', 'f'] }, { replicas: ['a', 'd', 'e'] }];
    const h = partitionHealth(table({ a: 'up', b: 'up', c: 'up', d: 'down', e: 'down', f: 'down' }, parts), { affectedMax: 2 });
    expect(h.unavailable).toBe(1);
    expect(h.underReplicated).toBe(1);
    expect(h.affected.map((x) => [x.partition, x.health])).toEqual([[1, 'unavailable'], [2, 'under_replicated']]);
    const bounded = partitionHealth(table({ a: 'down', b: 'up', c: 'up' }, []), { affectedMax: 5 });
    expect(bounded.underReplicated).toBe(16);
    expect(bounded.affected).toHaveLength(5);
    expect(bounded.affectedMax).toBe(5);
  });

  it('maps every partition up to mapDigitsMax and none above', () => {
    const h = partitionHealth(table({ a: 'up', b: 'up', c: 'up', d: 'down' }, [{ replicas: ['a', 'b', 'c'] }, { replicas: ['a', 'b', 'd'] }, { replicas: ['d'] }]));
    expect(h.map).toBe(`hux${'h'.repeat(13)}`);
    expect(partitionHealth(table({ a: 'up', b: 'up', c: 'up' }, [], 2), { mapDigitsMax: 1 }).map).toBeUndefined();
    expect(partitionHealth(table({ a: 'up', b: 'up', c: 'up' }, [], 2)).map).toHaveLength(256);
  });
});
