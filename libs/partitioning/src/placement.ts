import { repairBalance } from './balance-repair';
import { totalSlots, waterFill } from './fair-share';
import { fillHoles } from './fill';
import { canonicalNodes, zoneIndices } from './node-order';
import { PlacementState } from './placement-state';
import { reduceMoves } from './move-reduction';
import type { Placement, PlacementInput } from './placement-types';
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
 * 6. Zone clashes are swapped away where that costs no copy (zone-repair.ts).
 *
 * Cost is about O(P * n * K) for the fill (one SHA-1 per partition and node) plus the repairs,
 * which only work where the greedy passes got stuck.
 *
 * Deterministic: nodes are put in id order first, so only the input's content matters.
 */
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

  const rows = state.members.map((_, p) => state.orderedRow(p));
  return {
    replicas: rows.map((row) => row.nodes.map((node) => ids[node])),
    reasons: rows.map((row) => row.reasons),
  };
}
