import type { PlacementState } from './placement-state';

/**
 * Upper bound on full passes over the table. A useful pass adds at least one distinct zone and
 * the table has at most P * K of them; the bound only guards against a bug. Unit: passes.
 */
const ZONE_REPAIR_PASSES_MAX = 64;

/**
 * Swaps two replicas between partitions: `a`, whose zone p repeats, goes to q, and `c`, from a
 * zone p lacks, comes to p. Loads are unchanged, so balance is kept; q must not lose a distinct
 * zone; and the swap must not add copies relative to the previous table, so a join or a leave
 * never moves a replica only for the sake of zones. A clash inherited from the previous table
 * is cured by shedding instead, which prefers such partitions.
 */
function trySwap(state: PlacementState, p: number): boolean {
  const members = state.members[p];
  for (let slotA = 0; slotA < members.length; slotA++) {
    const a = members[slotA];
    if (!state.zoneUsed(p, state.zoneOf[a], slotA)) continue;
    for (let q = 0; q < state.partitions; q++) {
      if (q === p || state.has(q, a)) continue;
      const others = state.members[q];
      for (let slotC = 0; slotC < others.length; slotC++) {
        const c = others[slotC];
        if (state.has(p, c) || state.zoneUsed(p, state.zoneOf[c])) continue;
        if (state.moveCost(p, slotA, c) + state.moveCost(q, slotC, a) > 0) continue;
        const lossInQ = state.zoneLoss(q, slotC, a);
        if (lossInQ > 0) continue;
        state.replaceSlot(p, slotA, c, 'zone');
        state.replaceSlot(q, slotC, a, lossInQ < 0 ? 'zone' : 'fallback');
        return true;
      }
    }
  }
  return false;
}

/** Raises every partition towards min(K, zones) distinct zones by swaps that keep the balance. */
export function repairZones(state: PlacementState): void {
  const target = state.zoneTarget;
  for (let pass = 0; pass < ZONE_REPAIR_PASSES_MAX; pass++) {
    let improved = false;
    for (let p = 0; p < state.partitions; p++) {
      while (state.distinctZones(p) < target && trySwap(state, p)) improved = true;
    }
    if (!improved) return;
  }
}
