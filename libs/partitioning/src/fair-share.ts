import { canonicalNodes } from './node-order';
import type { PlacementNode } from './placement-types';
import { assertPlacementParams } from './validate-input';

/**
 * Shares proportional to weight, except that none may exceed `cap`: whatever a capped node
 * cannot take is spread over the others, again by weight ("water filling"). The cap is P
 * because a node holds a partition at most once.
 */
export function waterFill(weights: readonly number[], slots: number, cap: number): number[] {
  const shares = weights.map(() => 0);
  let open = weights.map((_, i) => i);
  let remaining = slots;
  while (open.length > 0) {
    // Summed in a fixed (canonical) order so the floating-point result is reproducible.
    let totalWeight = 0;
    for (const i of open) totalWeight += weights[i];
    const capped = open.filter((i) => (remaining * weights[i]) / totalWeight >= cap);
    if (capped.length === 0) {
      for (const i of open) shares[i] = (remaining * weights[i]) / totalWeight;
      break;
    }
    // Capping a node only raises the level for the rest, so every node capped now stays capped.
    for (const i of capped) shares[i] = cap;
    remaining -= cap * capped.length;
    const cappedSet = new Set(capped);
    open = open.filter((i) => !cappedSet.has(i));
  }
  return shares;
}

/** Replica slots in a table: S = P * min(K, n). */
export function totalSlots(nodeCount: number, partitions: number, redundancy: number): number {
  return partitions * Math.min(redundancy, nodeCount);
}

/**
 * Each node's weighted fair share of the P*K replica slots (fractional). With fewer nodes than
 * K there are only P*n slots. No share exceeds P (see waterFill), so these are the shares a
 * placement can actually reach.
 */
export function fairShares(nodes: PlacementNode[], partitions: number, redundancy: number): Map<string, number> {
  assertPlacementParams(nodes, partitions, redundancy);
  const sorted = canonicalNodes(nodes);
  const shares = waterFill(
    sorted.map((node) => node.weight),
    totalSlots(sorted.length, partitions, redundancy),
    partitions,
  );
  return new Map(sorted.map((node, i) => [node.id, shares[i]]));
}
