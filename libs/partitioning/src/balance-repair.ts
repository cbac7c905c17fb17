import type { PlacementState } from './placement-state';

interface Step {
  partition: number;
  from: number;
  to: number;
}

/**
 * How far the repair may go, most conservative first. freshOnly: move only replicas placed in
 * this run, so that no kept replica moves (a join or a leave then moves only what it must).
 * strict: never lose a distinct zone in a partition.
 */
const REPAIR_TIERS: readonly { freshOnly: boolean; strict: boolean }[] = [
  { freshOnly: true, strict: true },
  { freshOnly: true, strict: false },
  { freshOnly: false, strict: true },
  { freshOnly: false, strict: false },
];

const UNVISITED = -2;
const SOURCE = -1;

/**
 * Shortest chain of single-replica moves from some node over quota to some node under it:
 * over gives its replica in p1 to n1, n1 gives its replica in p2 to n2, ..., ending at a node
 * under quota. Only the two ends change load. Breadth-first over nodes in index order, so the
 * chain found is deterministic.
 */
function findChain(state: PlacementState, freshOnly: boolean, strict: boolean): Step[] | null {
  const via = new Array<number>(state.nodeCount).fill(UNVISITED);
  const viaPartition = new Array<number>(state.nodeCount).fill(-1);
  const queue: number[] = [];
  for (let node = 0; node < state.nodeCount; node++) {
    if (state.spare(node) < 0) {
      via[node] = SOURCE;
      queue.push(node);
    }
  }
  for (let head = 0; head < queue.length; head++) {
    const from = queue[head];
    for (let p = 0; p < state.partitions; p++) {
      const slot = state.slotOf(p, from);
      if (slot < 0 || (freshOnly && state.kept[p][slot])) continue;
      for (let to = 0; to < state.nodeCount; to++) {
        if (via[to] !== UNVISITED || state.has(p, to)) continue;
        if (strict && !state.keepsZones(p, slot, to)) continue;
        via[to] = from;
        viaPartition[to] = p;
        if (state.spare(to) > 0) {
          const chain: Step[] = [];
          for (let node = to; via[node] !== SOURCE; node = via[node]) {
            chain.push({ partition: viaPartition[node], from: via[node], to: node });
          }
          return chain.reverse();
        }
        queue.push(to);
      }
    }
  }
  return null;
}

/**
 * Fallbacks leave some nodes over quota while others are under. Move replicas along chains
 * until every node is at quota. Each chain lowers the total excess by one, so this ends.
 *
 * A chain's steps stay valid when applied in order: its nodes are distinct, so a step never
 * re-adds a node a partition already holds. A partition that appears twice in a chain may end
 * with a repeated zone the strict check did not see; the zone repair runs afterwards.
 */
export function repairBalance(state: PlacementState): void {
  for (const { freshOnly, strict } of REPAIR_TIERS) {
    for (;;) {
      const chain = findChain(state, freshOnly, strict);
      if (chain === null) break;
      for (const { partition, from, to } of chain) {
        state.replaceSlot(partition, state.slotOf(partition, from), to, 'fallback');
      }
    }
  }
}
