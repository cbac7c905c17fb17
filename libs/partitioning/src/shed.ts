import type { PlacementState } from './placement-state';

interface ShedCandidate {
  partition: number;
  holes: number;
  /** 0: the node's zone is repeated in the partition, 1: a node with spare quota fits without losing a zone, 2: neither. */
  fit: number;
  score: number;
}

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

  for (let node = 0; node < state.nodeCount; node++) {
    const excess = -state.spare(node);
    if (excess <= 0) continue;
    const candidates: ShedCandidate[] = [];
    for (let p = 0; p < state.partitions; p++) {
      const slot = state.slotOf(p, node);
      if (slot < 0) continue;
      const repeated = state.zoneUsed(p, state.zoneOf[node], slot);
      const fits = repeated || receivers.some((r) => !state.has(p, r) && state.zoneLoss(p, slot, r) <= 0);
      candidates.push({ partition: p, holes: state.holes(p), fit: repeated ? 0 : fits ? 1 : 2, score: state.score(p, node) });
    }
    candidates.sort((a, b) => a.holes - b.holes || a.fit - b.fit || a.score - b.score || a.partition - b.partition);
    for (const { partition } of candidates.slice(0, excess)) state.removeSlot(partition, state.slotOf(partition, node));
  }
}
