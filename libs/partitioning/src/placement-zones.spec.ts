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
import { fairShares } from './fair-share';
import { checkBalance, distinctZonesAchievable, loadsOf, zoneClashes, zoneSpreads } from './testing/placement-checks';
import { mulberry32, randomCases, randomInt, randomNodes } from './testing/seeded-random';

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

/** Most (partition, zone) pairs a table with these loads can have (see zone-repair.ts). */
function pairsBound(replicas: string[][], nodes: PlacementNode[], partitions: number, redundancy: number): number {
  const zoneOf = new Map(nodes.map((n) => [n.id, n.zone]));
  const zoneLoads = new Map<string, number>();
  for (const row of replicas) for (const id of row) zoneLoads.set(zoneOf.get(id) as string, (zoneLoads.get(zoneOf.get(id) as string) ?? 0) + 1);
  const byZones = [...zoneLoads.values()].reduce((sum, load) => sum + Math.min(load, partitions), 0);
  return Math.min(byZones, partitions * Math.min(redundancy, zoneLoads.size, nodes.length));
}

/** Whether the largest zone leaves at least one slot per partition to the others: then no partition needs to sit in one zone. */
function singleZoneAvoidable(nodes: PlacementNode[], partitions: number, redundancy: number): boolean {
  const width = Math.min(redundancy, nodes.length);
  const zones = new Set(nodes.map((n) => n.zone));
  if (zones.size < 2 || width < 2) return false;
  const shares = fairShares(nodes, partitions, redundancy);
  const zoneShare = new Map<string, number>();
  for (const n of nodes) zoneShare.set(n.zone, (zoneShare.get(n.zone) ?? 0) + (shares.get(n.id) as number));
  // Rounding may give a zone one slot per node more than its share.
  return [...zones].every((z) => (zoneShare.get(z) as number) + nodes.filter((n) => n.zone === z).length <= (width - 1) * partitions);
}

describe('zones as a rule: uneven zones spread as widely as the loads allow', () => {
  it.each([
    { sizes: [4, 3, 3], K: 3, P: 256 },
    { sizes: [4, 3, 3], K: 3, P: 4096 },
    { sizes: [5, 3, 2], K: 3, P: 256 },
    { sizes: [6, 2, 2], K: 3, P: 256 },
    { sizes: [3, 2], K: 3, P: 256 },
    { sizes: [5, 4, 3, 2], K: 4, P: 256 },
    { sizes: [40, 30, 30], K: 3, P: 4096 },
  ])('zone sizes $sizes, K=$K, P=$P: no partition in one zone, and as many (partition, zone) pairs as the loads allow', ({ sizes, K, P }) => {
    const nodes: PlacementNode[] = sizes.flatMap((size, z) => Array.from({ length: size }, (_, i) => ({ id: `z${z}-n${i}`, zone: `z${z}`, weight: 1 })));
    const placement = computePlacement({ nodes, redundancy: K, partitions: P });
    expect(checkBalance(placement, nodes, P, K).outsideRounding).toEqual([]);
    const spreads = zoneSpreads(placement.replicas, nodes);
    expect(spreads.filter((s) => s < 2)).toEqual([]);
    expect(spreads.reduce((a, b) => a + b, 0)).toBe(pairsBound(placement.replicas, nodes, P, K));
  });
});

describe('zones as a rule under churn: random memberships, joins and leaves', () => {
  const cases = randomCases(900, 60, 256).filter((c) => new Set(c.nodes.map((n) => n.zone)).size >= 2 && c.nodes.length >= 3);

  it('has enough such memberships to mean something', () => {
    expect(cases.length).toBeGreaterThanOrEqual(30);
  });

  it.each(cases.map((c) => [`seed ${c.seed}: P=${c.partitions} n=${c.nodes.length} K=${c.redundancy}`, c] as const))('%s', (_, c) => {
    const rng = mulberry32(c.seed * 17 + 3);
    let nodes = c.nodes;
    let replicas = computePlacement({ nodes, redundancy: c.redundancy, partitions: c.partitions }).replicas;
    for (let step = 0; step < 4; step++) {
      const join = step % 2 === 0 || nodes.length <= c.redundancy;
      nodes = join
        ? [...nodes, ...randomNodes(rng, { nodes: 1, zones: 5, weightMax: 4 }, `joiner${step}`)]
        : nodes.filter((_, i) => i !== randomInt(rng, 0, nodes.length - 1));
      const placement = computePlacement({ nodes, redundancy: c.redundancy, partitions: c.partitions, previous: replicas });
      replicas = placement.replicas;
      expect(checkBalance(placement, nodes, c.partitions, c.redundancy).outsideRounding).toEqual([]);
      if (distinctZonesAchievable(nodes, c.partitions, c.redundancy)) expect(zoneClashes(placement, nodes)).toEqual([]);
      if (singleZoneAvoidable(nodes, c.partitions, c.redundancy)) expect(zoneSpreads(replicas, nodes).filter((s) => s < 2)).toEqual([]);
    }
  });
});
