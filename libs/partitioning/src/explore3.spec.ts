import { computePlacement, fairShares, movedReplicaCount, diffPlacement } from './index';
import { randomCases, mulberry32, randomNodes } from './testing/seeded-random';
import { canonicalNodes } from './node-order';
import { totalSlots, waterFill } from './fair-share';
import { roundShares } from './quotas';
import { heldCounts, normalizePrevious } from './previous-table';

test('rem', () => {
  let shown = 0;
  for (const P of [16, 256]) {
    for (const c of randomCases(1000 + P, 200, P)) {
      const pl = computePlacement({ nodes: c.nodes, redundancy: c.redundancy, partitions: P });
      const rng = mulberry32(c.seed * 7);
      randomNodes(rng, { nodes: 1, zones: 5, weightMax: 4 }, 'new');
      if (c.nodes.length < 2) continue;
      const gone = c.nodes[Math.floor(rng() * c.nodes.length)];
      const nodes3 = c.nodes.filter((n) => n !== gone);
      const pl3 = computePlacement({ nodes: nodes3, redundancy: c.redundancy, partitions: P, previous: pl.replicas });
      const d = diffPlacement(pl.replicas, pl3.replicas);
      const bad = d.filter((m) => m.removed.some((r) => r !== gone.id) || m.added.length > m.removed.length);
      if (!bad.length) continue;
      const nodes = canonicalNodes(nodes3);
      const ids = nodes.map((n) => n.id);
      const slots = totalSlots(nodes.length, P, c.redundancy);
      const prev = normalizePrevious(pl.replicas, P, new Map(ids.map((id, i) => [id, i])))!;
      const held = heldCounts(prev, nodes.length);
      const sh = waterFill(nodes.map((n) => n.weight), slots, P);
      const q = roundShares(sh, ids, slots, P, held);
      const under = nodes.map((n, i) => `${n.weight}:${n.zone}:${held[i]}/${q[i]}(${sh[i].toFixed(2)})`);
      if (shown++ < 40) console.log(c.seed, P, c.nodes.length, 'K', c.redundancy, 'gone', gone.weight, gone.zone, "bad", bad.length, pl3.reasons.flat().filter((r) => r === 'fallback').length);
    }
  }
});
