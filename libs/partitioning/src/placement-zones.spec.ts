/*
 * Failure domains.
 *
 * Distinct zones are guaranteed to exist when there are at least min(K, n) zones and no zone's
 * nodes are owed more than P slots (the sum of ceil(share) over the zone's nodes <= P): lay
 * each zone's slots out in a row and deal them to partitions round-robin. On such inputs the
 * placement must find a table with distinct zones; the tests cover equal weights with even and
 * roughly even zones, and random memberships that meet the condition.
 *
 * Conflict: when a zone's weight exceeds 1/K of the total (e.g. two zones of weight 3 and 1 with
 * K = 2), distinct zones would need that zone's nodes to hold less than their fair share. Balance
 * wins: every node stays within floor/ceil of its share and the zone clashes are kept to the
 * minimum the loads force (tested below for K = 2).
 */
import { computePlacement } from './placement';
import type { PlacementNode } from './placement-types';
import { checkBalance, distinctZonesAchievable, loadsOf, zoneClashes } from './testing/placement-checks';
import { randomCases } from './testing/seeded-random';

function evenNodes(count: number, zones: number, prefix = 'n'): PlacementNode[] {
  return Array.from({ length: count }, (_, i) => ({ id: `${prefix}${i}`, zone: `z${i % zones}`, weight: 1 }));
}

describe('distinct zones, equal weights', () => {
  it.each([
    { n: 3, zones: 3, K: 3, P: 16 },
    { n: 6, zones: 3, K: 3, P: 256 },
    { n: 9, zones: 3, K: 3, P: 256 },
    { n: 8, zones: 4, K: 3, P: 256 },
    { n: 10, zones: 5, K: 3, P: 256 },
    { n: 12, zones: 4, K: 4, P: 256 },
    { n: 15, zones: 5, K: 5, P: 256 },
    { n: 20, zones: 5, K: 3, P: 4096 },
    // Roughly even: zone sizes differ by one node.
    { n: 7, zones: 3, K: 2, P: 256 },
    { n: 11, zones: 4, K: 3, P: 256 },
    { n: 13, zones: 5, K: 3, P: 16 },
    { n: 19, zones: 5, K: 4, P: 256 },
  ])('n=$n zones=$zones K=$K P=$P', ({ n, zones, K, P }) => {
    const nodes = evenNodes(n, zones);
    const placement = computePlacement({ nodes, redundancy: K, partitions: P });
    expect(distinctZonesAchievable(nodes, P, K)).toBe(true);
    expect(zoneClashes(placement, nodes)).toEqual([]);
    expect(checkBalance(placement, nodes, P, K).outsideRounding).toEqual([]);
  });
});

describe('distinct zones, random memberships where they are achievable', () => {
  const cases = [...randomCases(700, 80, 256), ...randomCases(800, 40, 16)].filter((c) =>
    distinctZonesAchievable(c.nodes, c.partitions, c.redundancy),
  );

  it('has enough such memberships to mean something', () => {
    expect(cases.length).toBeGreaterThanOrEqual(30);
  });

  it.each(cases.map((c) => [`seed ${c.seed}: P=${c.partitions} n=${c.nodes.length} K=${c.redundancy}`, c] as const))('%s', (_, c) => {
    const placement = computePlacement({ nodes: c.nodes, redundancy: c.redundancy, partitions: c.partitions });
    expect(zoneClashes(placement, c.nodes)).toEqual([]);
  });
});

describe('distinct zones survive joins and leaves (equal weights, spare zones)', () => {
  it.each([
    { n: 10, zones: 5, K: 3, P: 256 },
    { n: 12, zones: 4, K: 2, P: 256 },
    { n: 15, zones: 5, K: 3, P: 16 },
  ])('n=$n zones=$zones K=$K P=$P', ({ n, zones, K, P }) => {
    const nodes = evenNodes(n, zones);
    const before = computePlacement({ nodes, redundancy: K, partitions: P });
    const joined = [...nodes, { id: 'joiner', zone: 'z1', weight: 1 }];
    const afterJoin = computePlacement({ nodes: joined, redundancy: K, partitions: P, previous: before.replicas });
    expect(zoneClashes(afterJoin, joined)).toEqual([]);
    const left = nodes.filter((node) => node.id !== 'n3');
    const afterLeave = computePlacement({ nodes: left, redundancy: K, partitions: P, previous: before.replicas });
    expect(zoneClashes(afterLeave, left)).toEqual([]);
  });
});

describe('uneven zones: balance wins, clashes only where the loads force them', () => {
  it.each([
    { P: 256, heavyNodes: 3 },
    { P: 256, heavyNodes: 5 },
    { P: 16, heavyNodes: 3 },
  ])('K=2, zone "big" with $heavyNodes nodes against one node in zone "small" (P=$P)', ({ P, heavyNodes }) => {
    const nodes: PlacementNode[] = [
      ...Array.from({ length: heavyNodes }, (_, i) => ({ id: `big-${i}`, zone: 'big', weight: 1 })),
      { id: 'small-0', zone: 'small', weight: 1 },
    ];
    const placement = computePlacement({ nodes, redundancy: 2, partitions: P });
    expect(checkBalance(placement, nodes, P, 2).outsideRounding).toEqual([]);
    // The small zone can pair with at most its own load's worth of partitions; every other
    // partition has two "big" replicas.
    const smallLoad = loadsOf(placement.replicas).get('small-0') as number;
    expect(zoneClashes(placement, nodes)).toHaveLength(P - smallLoad);
  });
});
