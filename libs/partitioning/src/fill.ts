import type { PlacementState } from './placement-state';

/**
 * Fills every hole, partitions in order 0..P-1. Among nodes not yet in the partition and under
 * quota the highest rendezvous score wins, but a node in a zone the partition does not use yet
 * beats any node in a used zone (reason 'zone' when that skipped the winner). When no node
 * under quota can enter, the least-loaded node that can takes it ('fallback'); the balance
 * repair then evens that out.
 */
export function fillHoles(state: PlacementState): void {
  const scores = new Float64Array(state.nodeCount);
  for (let p = 0; p < state.partitions; p++) {
    if (state.holes(p) <= 0) continue;
    for (let node = 0; node < state.nodeCount; node++) scores[node] = state.score(p, node);
    // Ties in score go to the smaller index, i.e. the smaller id: nodes are in canonical order.
    const outranks = (a: number, b: number): boolean => b < 0 || scores[a] > scores[b];
    while (state.holes(p) > 0) {
      let best = -1;
      let bestNewZone = -1;
      let fallback = -1;
      let fallbackNewZone = false;
      for (let node = 0; node < state.nodeCount; node++) {
        if (state.has(p, node)) continue;
        const newZone = !state.zoneUsed(p, state.zoneOf[node]);
        if (state.spare(node) > 0) {
          if (outranks(node, best)) best = node;
          if (newZone && outranks(node, bestNewZone)) bestNewZone = node;
        }
        const lessLoaded =
          fallback < 0 ||
          (newZone && !fallbackNewZone) ||
          (newZone === fallbackNewZone &&
            (state.spare(node) > state.spare(fallback) ||
              (state.spare(node) === state.spare(fallback) && outranks(node, fallback))));
        if (lessLoaded) {
          fallback = node;
          fallbackNewZone = newZone;
        }
      }
      if (bestNewZone >= 0) state.add(p, bestNewZone, bestNewZone === best ? 'rank' : 'zone');
      else if (best >= 0) state.add(p, best, 'rank');
      else state.add(p, fallback, 'fallback');
    }
  }
}
