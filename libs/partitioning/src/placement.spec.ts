import { computePlacement } from './placement';
import type { PlacementNode } from './placement-types';
import { REPLICA_REASONS } from './reasons';
import { checkBalance, shapeProblems } from './testing/placement-checks';

const node = (id: string, zone = 'z1', weight = 1): PlacementNode => ({ id, zone, weight });

describe('computePlacement: input checks', () => {
  const good = [node('a'), node('b')];
  it.each([
    { name: 'K < 1', input: { nodes: good, redundancy: 0, partitions: 16 } },
    { name: 'non-integer K', input: { nodes: good, redundancy: 1.5, partitions: 16 } },
    { name: 'P < 1', input: { nodes: good, redundancy: 1, partitions: 0 } },
    { name: 'non-integer P', input: { nodes: good, redundancy: 1, partitions: 2.5 } },
    { name: 'duplicate node ids', input: { nodes: [node('a'), node('a', 'z2')], redundancy: 1, partitions: 16 } },
    { name: 'weight 0', input: { nodes: [node('a', 'z1', 0)], redundancy: 1, partitions: 16 } },
    { name: 'negative weight', input: { nodes: [node('a', 'z1', -1)], redundancy: 1, partitions: 16 } },
    { name: 'NaN weight', input: { nodes: [node('a', 'z1', NaN)], redundancy: 1, partitions: 16 } },
    { name: 'infinite weight', input: { nodes: [node('a', 'z1', Infinity)], redundancy: 1, partitions: 16 } },
    { name: 'empty id', input: { nodes: [node('')], redundancy: 1, partitions: 16 } },
    { name: 'previous of another partition count', input: { nodes: good, redundancy: 1, partitions: 16, previous: [['a'], ['b']] } },
  ])('throws on $name', ({ input }) => {
    expect(() => computePlacement(input)).toThrow();
  });

  it.each([null, undefined, []])('treats previous = %p as no previous table', (previous) => {
    const input = { nodes: good, redundancy: 1, partitions: 16 };
    expect(computePlacement({ ...input, previous })).toEqual(computePlacement(input));
  });
});

describe('computePlacement: small cases', () => {
  it('gives empty rows when there are no nodes', () => {
    expect(computePlacement({ nodes: [], redundancy: 3, partitions: 16 })).toEqual({
      replicas: Array.from({ length: 16 }, () => []),
      reasons: Array.from({ length: 16 }, () => []),
    });
  });

  it('puts every node in every partition when n <= K', () => {
    const nodes = [node('a', 'z1', 1), node('b', 'z2', 4)];
    const { replicas } = computePlacement({ nodes, redundancy: 3, partitions: 16 });
    for (const row of replicas) expect([...row].sort()).toEqual(['a', 'b']);
  });

  it('balances fractional weights too', () => {
    const nodes = [node('a', 'z1', 0.3), node('b', 'z2', 1.7), node('c', 'z3', 2.25), node('d', 'z1', 0.5), node('e', 'z2', 1)];
    const placement = computePlacement({ nodes, redundancy: 2, partitions: 256 });
    expect(shapeProblems(placement, nodes, 256, 2)).toEqual([]);
    expect(checkBalance(placement, nodes, 256, 2)).toEqual({ outsideRounding: [], aboveMargin: [] });
  });

  it('places a single partition', () => {
    const nodes = [node('a', 'z1'), node('b', 'z2'), node('c', 'z3')];
    const placement = computePlacement({ nodes, redundancy: 2, partitions: 1 });
    expect(shapeProblems(placement, nodes, 1, 2)).toEqual([]);
  });

  it('labels every replica with a known reason, rank or zone when nothing forces otherwise', () => {
    const nodes = ['a', 'b', 'c', 'd', 'e', 'f'].map((id, i) => node(id, `z${i % 3}`));
    const { reasons } = computePlacement({ nodes, redundancy: 3, partitions: 256 });
    const counts = new Map<string, number>();
    for (const row of reasons) for (const r of row) counts.set(r, (counts.get(r) ?? 0) + 1);
    for (const r of counts.keys()) expect(REPLICA_REASONS).toContain(r);
    expect(counts.get('kept')).toBeUndefined();
    // Most replicas go by rank; zone and balance adjust the rest.
    expect((counts.get('rank') ?? 0) + (counts.get('zone') ?? 0)).toBeGreaterThan(0.5 * 256 * 3);
  });

  it('keeps previous replicas first, in their previous order, and appends new ones', () => {
    const nodes = [node('a', 'z1'), node('b', 'z2'), node('c', 'z3'), node('d', 'z4')];
    const first = computePlacement({ nodes, redundancy: 3, partitions: 16 });
    const previous = first.replicas.map((row) => [...row].reverse());
    const survivors = nodes.filter((n) => n.id !== 'b');
    const next = computePlacement({ nodes: survivors, redundancy: 3, partitions: 16, previous });
    next.replicas.forEach((row, p) => {
      const kept = previous[p].filter((id) => id !== 'b');
      expect(row.slice(0, kept.length)).toEqual(kept);
      expect(next.reasons[p].slice(0, kept.length)).toEqual(kept.map(() => 'kept'));
      expect(next.reasons[p].slice(kept.length)).not.toContain('kept');
    });
  });

  it('drops unknown and repeated ids from previous', () => {
    const nodes = [node('a', 'z1'), node('b', 'z2')];
    const previous = Array.from({ length: 16 }, () => ['ghost', 'a', 'a', 'b']);
    const placement = computePlacement({ nodes, redundancy: 2, partitions: 16, previous });
    for (const row of placement.replicas) expect(row).toEqual(['a', 'b']);
    for (const row of placement.reasons) expect(row).toEqual(['kept', 'kept']);
  });

  it('trims partitions when K shrinks, moving nothing else', () => {
    const nodes = ['a', 'b', 'c', 'd', 'e'].map((id, i) => node(id, `z${i}`));
    const before = computePlacement({ nodes, redundancy: 3, partitions: 256 });
    const after = computePlacement({ nodes, redundancy: 2, partitions: 256, previous: before.replicas });
    expect(shapeProblems(after, nodes, 256, 2)).toEqual([]);
    after.replicas.forEach((row, p) => {
      for (const id of row) expect(before.replicas[p]).toContain(id);
    });
  });

  it('adds one replica per partition when K grows, keeping the others', () => {
    const nodes = ['a', 'b', 'c', 'd', 'e'].map((id, i) => node(id, `z${i}`));
    const before = computePlacement({ nodes, redundancy: 2, partitions: 256 });
    const after = computePlacement({ nodes, redundancy: 3, partitions: 256, previous: before.replicas });
    expect(shapeProblems(after, nodes, 256, 3)).toEqual([]);
    after.replicas.forEach((row, p) => expect(row.slice(0, 2).sort()).toEqual([...before.replicas[p]].sort()));
  });
});
