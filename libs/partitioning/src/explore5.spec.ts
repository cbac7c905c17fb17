import { computePlacement, diffPlacement, fairShares } from './index';
import { randomCases, mulberry32, randomNodes } from './testing/seeded-random';

test('add', () => {
  for (const P of [16, 256, 4096]) {
    for (const c of randomCases(1000 + P, P === 4096 ? 10 : 200, P)) {
      const pl = computePlacement({ nodes: c.nodes, redundancy: c.redundancy, partitions: P });
      const rng = mulberry32(c.seed * 7);
      const extra = randomNodes(rng, { nodes: 1, zones: 5, weightMax: 4 }, 'new')[0];
      const nodes2 = [...c.nodes, extra];
      const pl2 = computePlacement({ nodes: nodes2, redundancy: c.redundancy, partitions: P, previous: pl.replicas });
      const d = diffPlacement(pl.replicas, pl2.replicas);
      const bad = d.filter((m) => m.added.some((a) => a !== extra.id));
      if (!bad.length) continue;
      const sh = fairShares(nodes2, P, c.redundancy);
      const sh1 = fairShares(c.nodes, P, c.redundancy);
      console.log(c.seed, P, 'n', c.nodes.length, 'K', c.redundancy, 'new', extra.weight, extra.zone, c.nodes.map((n) => `${n.weight}${n.zone.slice(-2)} ${sh1.get(n.id)!.toFixed(1)}->${sh.get(n.id)!.toFixed(1)}`).join(' | '), JSON.stringify(bad), JSON.stringify(pl2.reasons.flat().reduce((a: Record<string, number>, r) => ((a[r] = (a[r] ?? 0) + 1), a), {})));
    }
  }
});
