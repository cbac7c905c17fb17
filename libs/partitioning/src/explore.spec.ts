import { computePlacement, fairShares, movedReplicaCount, diffPlacement } from './index';
import { randomCases, mulberry32, randomNodes } from './testing/seeded-random';
import { loadsOf, zoneClashes } from './testing/placement-checks';
import type { PlacementNode } from './placement-types';

function zoneFeasible(nodes: PlacementNode[], P: number, K: number): boolean {
  const shares = fairShares(nodes, P, K);
  const z = new Map<string, number>();
  for (const n of nodes) z.set(n.zone, (z.get(n.zone) ?? 0) + Math.ceil(shares.get(n.id)!));
  return z.size >= Math.min(K, nodes.length) && [...z.values()].every((v) => v <= P);
}

test('explore', () => {
  const stats = { cases: 0, bal: 0, feasible: 0, clashFeasible: 0, addBad: 0, addOver: 0, remBad: 0, clashAdd: 0, clashRem: 0 };
  for (const P of [16, 256, 4096]) {
    const cases = randomCases(1000 + P, P === 4096 ? 10 : 200, P);
    for (const c of cases) {
      stats.cases++;
      const t0 = performance.now();
      const pl = computePlacement({ nodes: c.nodes, redundancy: c.redundancy, partitions: P });
      const t1 = performance.now();
      if (t1 - t0 > 300) console.log('slow', P, c.nodes.length, c.redundancy, t1 - t0);
      const shares = fairShares(c.nodes, P, c.redundancy);
      const loads = loadsOf(pl.replicas);
      for (const n of c.nodes) {
        const l = loads.get(n.id) ?? 0; const s = shares.get(n.id)!;
        if (l > Math.ceil(s - 1e-9) || l < Math.floor(s + 1e-9)) { stats.bal++; break; }
      }
      const feas = zoneFeasible(c.nodes, P, c.redundancy);
      if (feas) { stats.feasible++; if (zoneClashes(pl, c.nodes).length) { stats.clashFeasible++; console.log('clash', c.seed, P, zoneClashes(pl, c.nodes).length); } }
      // add
      const rng = mulberry32(c.seed * 7);
      const extra = randomNodes(rng, { nodes: 1, zones: 5, weightMax: 4 }, 'new')[0];
      const nodes2 = [...c.nodes, extra];
      const pl2 = computePlacement({ nodes: nodes2, redundancy: c.redundancy, partitions: P, previous: pl.replicas });
      const moved = movedReplicaCount(pl.replicas, pl2.replicas);
      const ideal = fairShares(nodes2, P, c.redundancy).get(extra.id)!;
      if (moved > 1.1 * ideal + 1) { stats.addOver++; console.log('addOver', c.seed, P, moved, ideal); }
      if (diffPlacement(pl.replicas, pl2.replicas).some((m) => m.added.some((a) => a !== extra.id))) { stats.addBad++; }
      if (feas && zoneFeasible(nodes2, P, c.redundancy) && zoneClashes(pl2, nodes2).length) stats.clashAdd++;
      // remove
      if (c.nodes.length > 1) {
        const gone = c.nodes[Math.floor(rng() * c.nodes.length)];
        const nodes3 = c.nodes.filter((n) => n !== gone);
        const pl3 = computePlacement({ nodes: nodes3, redundancy: c.redundancy, partitions: P, previous: pl.replicas });
        if (diffPlacement(pl.replicas, pl3.replicas).some((m) => m.removed.some((r) => r !== gone.id) || m.added.length > m.removed.length)) stats.remBad++;
        if (feas && zoneFeasible(nodes3, P, c.redundancy) && zoneClashes(pl3, nodes3).length) stats.clashRem++;
      }
    }
  }
  console.log(stats);
});
