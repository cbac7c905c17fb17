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
    ['two replicas out or down: fewer than a quorum', { a: 'out', b: 'down', c: 'up' }, 0, 0, 16],
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

  it('calls unavailable what has fewer than a majority of K up, and counts those with none', () => {
    const h = partitionHealth(table({ a: 'up', b: 'down', c: 'down', d: 'up' }, [{ replicas: ['a', 'd', 'b'] }, { replicas: ['b', 'c'] }]));
    expect([h.healthy, h.underReplicated, h.unavailable, h.noneUp]).toEqual([0, 1, 15, 1]);
    // K=2: a quorum is both replicas.
    const k2 = partitionHealth(table({ a: 'up', b: 'down' }, Array.from({ length: 16 }, () => ({ replicas: ['a', 'b'] })), 1, 2));
    expect([k2.underReplicated, k2.unavailable]).toEqual([0, 16]);
  });

  it('lists the worst partitions first, bounded by affectedMax', () => {
    const parts = [{ replicas: ['a', 'b', 'c'] }, { replicas: ['d', 'e', 'f'] }, { replicas: ['a', 'b', 'e'] }];
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
