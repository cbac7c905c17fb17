import type { PlacementState } from './placement-state';

/**
 * Receivers (nodes with spare quota, most spare first) a shedding candidate is checked against
 * for "fits without losing a zone". On a join there is one receiver; when many nodes have room
 * (a weight or K change) checking them all would cost O(P * n). Unit: nodes.
 */
export const SHED_RECEIVERS_CHECKED_MAX = 16;
/** Up to this many slots to shed, a node picks them by repeated selection; beyond, by one sort. Unit: slots. */
const SHED_SELECT_MAX = 8;

/**
 * Nodes over quota give up replicas until they are at quota. Where a node gives one up decides
 * what the fill can do with the hole, so, in order of preference:
 * 1. partitions with no hole yet: two holes in one partition cannot both go to a single
 *    receiving node (e.g. the node that just joined), and the second would then take a detour
 *    through an old node;
 * 2. partitions where the node's zone is repeated: shedding there repairs a failure-domain clash;
 * 3. partitions some node with spare quota can enter without repeating a zone;
 * 4. the partitions the node ranks lowest for (rendezvous), which it is least entitled to.
 */
export function shedExcess(state: PlacementState): void {
  const receivers: number[] = [];
  for (let node = 0; node < state.nodeCount; node++) if (state.spare(node) > 0) receivers.push(node);
  receivers.sort((a, b) => state.spare(b) - state.spare(a) || a - b);
  receivers.length = Math.min(receivers.length, SHED_RECEIVERS_CHECKED_MAX);
  let held: number[][] | null = null;

  for (let node = 0; node < state.nodeCount; node++) {
    let excess = -state.spare(node);
    if (excess <= 0) continue;
    held ??= state.partitionsByNode();
    // Shedding is ranked by (holes, fit, score, partition), smallest first. The excess is
    // usually a slot or two, so select the best each time rather than sort every candidate.
    const mine = held[node];
    const fit = new Uint8Array(mine.length);
    for (let i = 0; i < mine.length; i++) {
      const p = mine[i];
      const slot = state.slotOf(p, node);
      const repeated = state.zoneUsed(p, state.zoneOf[node], slot);
      const fits = repeated || receivers.some((r) => !state.has(p, r) && state.zoneLoss(p, slot, r) <= 0);
      fit[i] = repeated ? 0 : fits ? 1 : 2;
    }
    if (excess > SHED_SELECT_MAX) {
      // Many to shed (a node joined a small cluster): one sort. A node's own removals change
      // only the holes of partitions it already gave up, so the order computed here holds.
      const score = mine.map((p) => state.score(p, node));
      const holes = mine.map((p) => state.holes(p));
      const order = mine.map((_, i) => i).sort((a, b) => holes[a] - holes[b] || fit[a] - fit[b] || score[a] - score[b] || mine[a] - mine[b]);
      for (const i of order.slice(0, excess)) state.removeSlot(mine[i], state.slotOf(mine[i], node));
      continue;
    }
    const shed = new Uint8Array(mine.length);
    for (; excess > 0; excess--) {
      let best = -1;
      let bestHoles = 0;
      let bestScore = 0;
      for (let i = 0; i < mine.length; i++) {
        if (shed[i]) continue;
        const p = mine[i];
        const holes = state.holes(p);
        if (best >= 0 && (holes > bestHoles || (holes === bestHoles && fit[i] > fit[best]))) continue;
        const score = state.score(p, node);
        if (best < 0 || holes < bestHoles || fit[i] < fit[best] || score < bestScore || (score === bestScore && p < mine[best])) {
          best = i;
          bestHoles = holes;
          bestScore = score;
        }
      }
      if (best < 0) break;
      shed[best] = 1;
      state.removeSlot(mine[best], state.slotOf(mine[best], node));
    }
  }
}
