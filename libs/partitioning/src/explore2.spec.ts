import { randomCases } from './testing/seeded-random';
import { canonicalNodes } from './node-order';
import { totalSlots, waterFill } from './fair-share';
import { roundShares } from './quotas';
import { PlacementState } from './placement-state';
import { shedExcess } from './shed';
import { fillHoles } from './fill';
import { repairBalance } from './balance-repair';
import { repairZones } from './zone-repair';

test('phases', () => {
  const P = 4096;
  for (const c of randomCases(1000 + P, 10, P)) {
    const nodes = canonicalNodes(c.nodes);
    const slots = totalSlots(nodes.length, P, c.redundancy);
    const q = roundShares(waterFill(nodes.map((n) => n.weight), slots, P), nodes.map((n) => n.id), slots, P);
    const st = new PlacementState(nodes, P, Math.min(c.redundancy, nodes.length), waterFill(nodes.map((n) => n.weight), slots, P), q);
    const t: number[] = [performance.now()];
    shedExcess(st); t.push(performance.now());
    fillHoles(st); t.push(performance.now());
    const fb = st.reasons.flat().filter((r) => r === 'fallback').length;
    const over = st.load.reduce((s, l, i) => s + Math.max(0, l - q[i]), 0);
    repairBalance(st); t.push(performance.now());
    const clashes = st.members.filter((_, p) => st.distinctZones(p) < st.zoneTarget).length;
    repairZones(st); t.push(performance.now());
    const clashes2 = st.members.filter((_, p) => st.distinctZones(p) < st.zoneTarget).length;
    console.log(c.seed, nodes.length, c.redundancy, st.zoneCount, 'fb', fb, 'over', over, 'clash', clashes, clashes2, t.slice(1).map((x, i) => (x - t[i]).toFixed(0)).join(' '));
  }
});
