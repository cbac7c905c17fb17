import { repairBalance } from './balance-repair';
import { totalSlots, waterFill } from './fair-share';
import { fillHoles } from './fill';
import { canonicalNodes, zoneIndices } from './node-order';
import { PlacementState } from './placement-state';
import { reduceMoves } from './move-reduction';
import type { Placement, PlacementInput } from './placement-types';
import type { ReplicaReason } from './reasons';
import { heldCounts, normalizePrevious, seedKept } from './previous-table';
import { roundShares } from './quotas';
import { shedExcess } from './shed';
import { assertPlacementParams } from './validate-input';
import { repairZones } from './zone-repair';

/**
 * Sticky, quota-based, weighted-rendezvous placement.
 *
 * 1. Quotas: every node gets floor or ceil of its weighted fair share (quotas.ts).
 * 2. The previous table is kept, trimmed where K shrank (previous-table.ts).
 * 3. Nodes over quota shed (shed.ts).
 * 4. Holes are filled by rendezvous rank among nodes under quota, preferring unused zones
 *    (fill.ts).
 * 5. Fallbacks are evened out by augmenting chains until every load is within floor/ceil of its
 *    share (balance-repair.ts); with a previous table, wasted copies are then cancelled
 *    (move-reduction.ts).
 * 6. The zone rule: replicas are swapped between partitions until each spans min(K, zones)
 *    zones, or as many as the loads allow (zone-repair.ts).
 *
 * Cost is O(P * K) for every pass in the common case (see each pass for what it bounds), plus
 * the repairs, which only work where the greedy passes got stuck. Measured by
 * tools/placement-bench (docs/scale.md).
 *
 * Deterministic: nodes are put in id order first, so only the input's content matters.
 */
/** One shared, frozen ['kept', ...] row per width: a join leaves most rows as they were. */
function keptRows(): (width: number) => ReplicaReason[] {
  const rows: ReplicaReason[][] = [];
  return (width) => (rows[width] ??= Object.freeze(new Array<ReplicaReason>(width).fill('kept')) as ReplicaReason[]);
}

export function computePlacement(input: PlacementInput): Placement {
  const { redundancy, partitions } = input;
  assertPlacementParams(input.nodes, partitions, redundancy);
  const nodes = canonicalNodes(input.nodes);
  const ids = nodes.map((node) => node.id);
  const slots = totalSlots(nodes.length, partitions, redundancy);
  const previous = normalizePrevious(input.previous, partitions, new Map(ids.map((id, i) => [id, i])));

  const shares = waterFill(nodes.map((node) => node.weight), slots, partitions);
  const zoneOf = zoneIndices(nodes);
  const held = previous ? heldCounts(previous, nodes.length) : undefined;
  const quotas = roundShares(shares, ids, slots, partitions, held, zoneOf);
  const state = new PlacementState(nodes, partitions, Math.min(redundancy, nodes.length), shares, quotas, previous);

  seedKept(state);
  shedExcess(state);
  fillHoles(state);
  repairBalance(state);
  if (previous) reduceMoves(state);
  repairZones(state);

  const replicas: string[][] = new Array(partitions);
  const reasons: Placement['reasons'] = new Array(partitions);
  const allKept = keptRows();
  for (let p = 0; p < partitions; p++) {
    const before = input.previous?.[p];
    if (before && state.unchanged(p) && before.length === state.size(p)) {
      // The row is exactly the previous one: hand back the caller's array, allocate nothing.
      replicas[p] = before;
      reasons[p] = allKept(before.length);
      continue;
    }
    const row = state.orderedRow(p, ids);
    replicas[p] = row.nodes;
    reasons[p] = row.reasons;
  }
  return { replicas, reasons };
}
