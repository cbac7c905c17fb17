import { repairBalance } from './balance-repair';
import { totalSlots, waterFill } from './fair-share';
import { fillHoles } from './fill';
import { canonicalNodes } from './node-order';
import { PlacementState } from './placement-state';
import type { Placement, PlacementInput } from './placement-types';
import { heldCounts, normalizePrevious, seedKept } from './previous-table';
import { roundShares } from './quotas';
import { shedExcess } from './shed';
import { assertPlacementParams } from './validate-input';
import { repairZones } from './zone-repair';

/**
 * Sticky, quota-based, weighted-rendezvous placement.
 *
 * Every node gets a whole-slot quota (floor or ceil of its weighted fair share); the previous
 * table is kept where it is within quota; nodes over quota shed; holes are filled by rendezvous
 * rank among nodes under quota, preferring unused zones; fallbacks are then evened out and zone
 * clashes swapped away. Cost is about O(P * K * n) plus the repairs, which only do work where
 * the greedy fill got stuck.
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

  const shares = waterFill(
    nodes.map((node) => node.weight),
    slots,
    partitions,
  );
  const quotas = roundShares(shares, ids, slots, partitions, previous ? heldCounts(previous, nodes.length) : undefined);
  const state = new PlacementState(nodes, partitions, Math.min(redundancy, nodes.length), shares, quotas, previous);

  seedKept(state);
  shedExcess(state);
  fillHoles(state);
  repairBalance(state);
  repairZones(state);

  const rows = state.members.map((_, p) => state.orderedRow(p));
  return {
    replicas: rows.map((row) => row.nodes.map((node) => ids[node])),
    reasons: rows.map((row) => row.reasons),
  };
}
