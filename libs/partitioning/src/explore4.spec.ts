import { computePlacement, diffPlacement } from './index';
import { randomCases, mulberry32, randomNodes } from './testing/seeded-random';
import { canonicalNodes } from './node-order';
import { totalSlots, waterFill } from './fair-share';
import { roundShares, quotaBounds } from './quotas';
import { heldCounts, normalizePrevious } from './previous-table';

function maxflow(holes: number[][] /* per hole: allowed nodes */, cap0: number[], cap1: number[]): [number, number] {
  const assign: number[] = holes.map(() => -1);
  let cap = cap0;
  const load = cap.map(() => 0);
  const byNode: number[][] = cap.map(() => []);
  let flow = 0; let f0 = 0;
  for (let hx = 0; hx < 2 * holes.length; hx++) {
    const h = hx % holes.length;
    if (hx === holes.length) { cap = cap1; f0 = flow; }
    if (assign[h] >= 0) continue;
    // BFS augment from hole h
    const prevHole = new Map<number, number>(); // node -> hole it came from
    const visitedHole = new Set<number>([h]);
    const q = [h];
    let found = -1;
    outer: while (q.length) {
      const hh = q.shift()!;
      for (const n of holes[hh]) {
        if (prevHole.has(n)) continue;
        prevHole.set(n, hh);
        if (load[n] < cap[n]) { found = n; break outer; }
        for (const h2 of byNode[n]) if (!visitedHole.has(h2)) { visitedHole.add(h2); q.push(h2); }
      }
    }
    if (found < 0) continue;
    let n = found;
    load[n]++;
    for (;;) {
      const hh = prevHole.get(n)!;
      const old = assign[hh];
      assign[hh] = n; byNode[n].push(hh);
      if (old < 0) break;
      byNode[old].splice(byNode[old].indexOf(hh), 1);
      n = old;
    }
    flow++;
  }
  return [f0, flow];
}

test('rem feasibility', () => {
  let infeasible = 0, bad = 0;
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
      const isBad = d.some((m) => m.removed.some((r) => r !== gone.id) || m.added.length > m.removed.length);
      const nodes = canonicalNodes(nodes3);
      const ids = nodes.map((n) => n.id);
      const m = Math.min(c.redundancy, nodes.length);
      const slots = totalSlots(nodes.length, P, c.redundancy);
      const prev = normalizePrevious(pl.replicas, P, new Map(ids.map((id, i) => [id, i])))!;
      const held = heldCounts(prev, nodes.length);
      const sh = waterFill(nodes.map((n) => n.weight), slots, P);
      const holes: number[][] = [];
      prev.forEach((row, p) => { for (let k = row.length; k < m; k++) holes.push(nodes.map((_, i) => i).filter((i) => !row.includes(i))); });
      const lo = sh.map((s, i) => Math.max(0, quotaBounds(s, P).low - held[i]));
      const [f0, f] = maxflow(holes, lo, sh.map((s, i) => quotaBounds(s, P).high - held[i]));
      const inf = f < holes.length || f0 < lo.reduce((a, b) => a + b, 0);
      if (inf) infeasible++;
      if (isBad) bad++;
      if (isBad && !inf) console.log('bad but feasible', c.seed, P);
    }
  }
  console.log({ infeasible, bad });
});
