import type { PlacementState } from './placement-state';
import type { ReplicaReason } from './reasons';

/**
 * Fills every hole, partitions in order 0..P-1. Among nodes not yet in the partition and under
 * quota the highest rendezvous score wins, but a node in a zone the partition does not use yet
 * beats any node in a used zone (reason 'zone' when that skipped the winner).
 *
 * A node under quota that held the partition before (it was trimmed when K shrank, or shed) is
 * preferred over rank: it has the data, so taking it back costs no copy.
 *
 * Two things keep the greedy order from painting itself into a corner:
 * - a node whose spare quota is as large as the number of partitions it could still enter must
 *   enter this one, or it ends under quota (typical for heavy nodes, whose share is close to P);
 *   it is taken first ('fallback': balance overrode rank);
 * - when no node under quota can enter, a node that held the partition before takes the slot
 *   if there is one (it has the data: no copy), else the least-loaded node that can
 *   ('fallback'); the balance repair then evens that out.
 */
export function fillHoles(state: PlacementState): void {
  const n = state.nodeCount;
  // chances[node]: partitions from the current one on that still have a hole and lack the node.
  const chances = new Array<number>(n).fill(0);
  for (let p = 0; p < state.partitions; p++) {
    if (state.holes(p) <= 0) continue;
    for (let node = 0; node < n; node++) if (!state.has(p, node)) chances[node] += 1;
  }
  const scores = new Float64Array(n);
  const absent: number[] = [];
  for (let p = 0; p < state.partitions; p++) {
    if (state.holes(p) <= 0) continue;
    absent.length = 0;
    for (let node = 0; node < n; node++) {
      scores[node] = state.score(p, node);
      if (!state.has(p, node)) absent.push(node);
    }
    while (state.holes(p) > 0) fillOne(state, p, scores, chances);
    for (const node of absent) chances[node] -= 1;
  }
}

/**
 * The reason a fresh pick gets: 'rank' if rank and zones alone would have chosen it, 'zone' if
 * only the zone preference would, 'fallback' if neither (balance forced it).
 */
function reasonFor(pick: number, best: number, bestNewZone: number): ReplicaReason {
  if (pick === bestNewZone) return pick === best ? 'rank' : 'zone';
  return pick === best && bestNewZone < 0 ? 'rank' : 'fallback';
}

function fillOne(state: PlacementState, p: number, scores: Float64Array, chances: readonly number[]): void {
  // Ties in score go to the smaller index, i.e. the smaller id: nodes are in canonical order.
  const outranks = (a: number, b: number): boolean => b < 0 || scores[a] > scores[b];
  let best = -1;
  let bestNewZone = -1;
  let returning = -1;
  let returningNewZone = false;
  let forced = -1;
  let forcedNewZone = false;
  let fallback = -1;
  let fallbackNewZone = false;
  let fallbackHeldBefore = false;
  for (let node = 0; node < state.nodeCount; node++) {
    if (state.has(p, node)) continue;
    const newZone = !state.zoneUsed(p, state.zoneOf[node]);
    const spare = state.spare(node);
    if (spare > 0) {
      if (outranks(node, best)) best = node;
      if (newZone && outranks(node, bestNewZone)) bestNewZone = node;
      const returns = state.heldBefore(p, node);
      if (returns && (returning < 0 || (newZone && !returningNewZone) || (newZone === returningNewZone && outranks(node, returning)))) {
        returning = node;
        returningNewZone = newZone;
      }
      const mustEnter = spare >= chances[node];
      if (mustEnter && (forced < 0 || (newZone && !forcedNewZone) || (newZone === forcedNewZone && outranks(node, forced)))) {
        forced = node;
        forcedNewZone = newZone;
      }
    }
    const heldBefore = state.heldBefore(p, node);
    const better =
      fallback < 0 ||
      (heldBefore && !fallbackHeldBefore) ||
      (heldBefore === fallbackHeldBefore &&
        ((newZone && !fallbackNewZone) ||
          (newZone === fallbackNewZone &&
            (spare > state.spare(fallback) || (spare === state.spare(fallback) && outranks(node, fallback))))));
    if (better) {
      fallback = node;
      fallbackNewZone = newZone;
      fallbackHeldBefore = heldBefore;
    }
  }
  if (forced >= 0) state.add(p, forced, reasonFor(forced, best, bestNewZone));
  else if (returning >= 0 && (returningNewZone || bestNewZone < 0)) state.add(p, returning, 'kept');
  else if (bestNewZone >= 0) state.add(p, bestNewZone, reasonFor(bestNewZone, best, bestNewZone));
  else if (best >= 0) state.add(p, best, 'rank');
  else state.add(p, fallback, 'fallback');
}
