import { fairShares } from './fair-share';
import { computePlacement } from './placement';
import type { Placement, PlacementNode } from './placement-types';
import { movedReplicaCount } from './table-diff';
import { checkBalance, loadsOf, shapeProblems } from './testing/placement-checks';
import { mulberry32, randomCases, shuffled, type RandomCase } from './testing/seeded-random';

// Random memberships: n 1..20, K 1..5, weights 1..4, zones 1..5 (see randomCases).
const CASES: readonly RandomCase[] = [
  ...randomCases(100, 30, 256),
  ...randomCases(200, 16, 16),
  ...randomCases(300, 2, 4096),
];

const label = (c: RandomCase): string => `seed ${c.seed}: P=${c.partitions} n=${c.nodes.length} K=${c.redundancy}`;
const placementCache = new Map<RandomCase, Placement>();
function placed(c: RandomCase): Placement {
  let placement = placementCache.get(c);
  if (!placement) {
    placement = computePlacement({ nodes: c.nodes, redundancy: c.redundancy, partitions: c.partitions });
    placementCache.set(c, placement);
  }
  return placement;
}

describe.each(CASES.map((c) => [label(c), c] as const))('random membership %s', (_, c) => {
  it('gives every partition exactly min(K, n) distinct known replicas', () => {
    expect(shapeProblems(placed(c), c.nodes, c.partitions, c.redundancy)).toEqual([]);
  });

  it('holds every node within floor/ceil of its weighted fair share (so within the 5% / +1 margin)', () => {
    expect(checkBalance(placed(c), c.nodes, c.partitions, c.redundancy)).toEqual({ outsideRounding: [], aboveMargin: [] });
  });

  it('does not depend on the order of the nodes', () => {
    const rng = mulberry32(c.seed);
    const nodes = shuffled(rng, c.nodes);
    const again = computePlacement({ nodes, redundancy: c.redundancy, partitions: c.partitions });
    // One string comparison: a deep toEqual over P * K cells costs more than the placement.
    expect(JSON.stringify(again) === JSON.stringify(placed(c))).toBe(true);
  });

  it('is a fixed point: fed its own output, it moves nothing and keeps every replica', () => {
    const again = computePlacement({
      nodes: shuffled(mulberry32(c.seed + 1), c.nodes),
      redundancy: c.redundancy,
      partitions: c.partitions,
      previous: placed(c).replicas,
    });
    expect(movedReplicaCount(placed(c).replicas, again.replicas)).toBe(0);
    expect(JSON.stringify(again.replicas) === JSON.stringify(placed(c).replicas)).toBe(true);
    expect(again.reasons.flat().filter((reason) => reason !== 'kept')).toEqual([]);
  });
});

describe('balance with equal weights', () => {
  it.each([
    { n: 3, K: 3, P: 16 },
    { n: 5, K: 3, P: 16 },
    { n: 7, K: 2, P: 256 },
    { n: 12, K: 3, P: 256 },
    { n: 20, K: 5, P: 256 },
    { n: 17, K: 3, P: 4096 },
  ])('every node within 1 of the mean: n=$n K=$K P=$P', ({ n, K, P }) => {
    const nodes: PlacementNode[] = Array.from({ length: n }, (_, i) => ({ id: `n${i}`, zone: `z${i % 4}`, weight: 1 }));
    const loads = loadsOf(computePlacement({ nodes, redundancy: K, partitions: P }).replicas);
    const mean = (P * Math.min(K, n)) / n;
    for (const { id } of nodes) expect(Math.abs((loads.get(id) ?? 0) - mean)).toBeLessThanOrEqual(1);
  });
});

describe('weights', () => {
  it.each([
    { P: 256, K: 1 },
    { P: 256, K: 3 },
    { P: 4096, K: 2 },
  ])('weight 2 gets about twice the slots of weight 1 (P=$P K=$K)', ({ P, K }) => {
    const nodes: PlacementNode[] = [
      { id: 'heavy-1', zone: 'z1', weight: 2 },
      { id: 'heavy-2', zone: 'z2', weight: 2 },
      { id: 'light-1', zone: 'z3', weight: 1 },
      { id: 'light-2', zone: 'z1', weight: 1 },
      { id: 'light-3', zone: 'z2', weight: 1 },
      { id: 'light-4', zone: 'z3', weight: 1 },
    ];
    const loads = loadsOf(computePlacement({ nodes, redundancy: K, partitions: P }).replicas);
    const shares = fairShares(nodes, P, K);
    for (const { id } of nodes) {
      const share = shares.get(id) as number;
      expect(loads.get(id)).toBeLessThanOrEqual(Math.max(Math.ceil(share * 1.05), Math.ceil(share) + 1));
      expect(loads.get(id)).toBeGreaterThanOrEqual(Math.floor(share * 0.95));
    }
    const heavy = (loads.get('heavy-1') as number) + (loads.get('heavy-2') as number);
    const light = ['light-1', 'light-2', 'light-3', 'light-4'].reduce((sum, id) => sum + (loads.get(id) as number), 0);
    expect(heavy / 2 / (light / 4)).toBeGreaterThan(2 * 0.95);
    expect(heavy / 2 / (light / 4)).toBeLessThan(2 * 1.05);
  });
});

describe('determinism', () => {
  it('gives the same output for the same previous table, whatever the node order', () => {
    const c = CASES[0];
    const first = placed(c);
    const nodes = [...c.nodes.slice(1), { id: 'joiner', zone: 'zone-9', weight: 2 }];
    const a = computePlacement({ nodes, redundancy: c.redundancy, partitions: c.partitions, previous: first.replicas });
    const b = computePlacement({ nodes: shuffled(mulberry32(7), nodes), redundancy: c.redundancy, partitions: c.partitions, previous: first.replicas });
    expect(b).toEqual(a);
    expect(movedReplicaCount(first.replicas, a.replicas)).toBeGreaterThan(0);
  });
});

describe('performance sanity', () => {
  it('places P=4096, n=20, K=3 (the suite stays fast: the common case is O(P * K))', () => {
    const nodes: PlacementNode[] = Array.from({ length: 20 }, (_, i) => ({ id: `node-${i}`, zone: `z${i % 5}`, weight: 1 + (i % 4) }));
    const placement = computePlacement({ nodes, redundancy: 3, partitions: 4096 });
    expect(shapeProblems(placement, nodes, 4096, 3)).toEqual([]);
  });
});
