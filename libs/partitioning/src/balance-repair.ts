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

/** A node under quota whose quota may drop by one (it holds ceil(share)), or -1. */
function lowerableNode(state: PlacementState): number {
  for (let node = 0; node < state.nodeCount; node++) {
    if (state.spare(node) > 0 && state.quota[node] > state.quotaLow[node]) return node;
  }
  return -1;
}

function canRaise(state: PlacementState, node: number): boolean {
  return state.quota[node] < state.quotaHigh[node];
}

/**
 * Which node gets the ceil of its share is a free choice (section "quotas"); after a fallback,
 * giving it to the node that is over, and taking it from one that could not fill it, balances
 * without moving anything. Returns whether it did.
 */
function tradeQuota(state: PlacementState): boolean {
  const lowerable = lowerableNode(state);
  if (lowerable < 0) return false;
  for (let node = 0; node < state.nodeCount; node++) {
    if (state.spare(node) < 0 && canRaise(state, node)) {
      state.quota[node] += 1;
      state.quota[lowerable] -= 1;
      return true;
    }
  }
  return false;
}

/**
 * Shortest chain of single-replica moves from some node over quota to a node that can take
 * one more: over gives its replica in p1 to n1, n1 gives its replica in p2 to n2, ..., ending
 * at a node under quota, or at one whose quota may rise while `lowerable`'s falls. Only the two
 * ends change load. This is an augmenting path: when none exists, no reassignment of the
 * movable replicas balances the table. Breadth-first in index order, so the result is
 * deterministic.
 */
function findChain(state: PlacementState, freshOnly: boolean, strict: boolean, lowerable: number): Step[] | null {
  const via = new Array<number>(state.nodeCount).fill(UNVISITED);
  const viaPartition = new Array<number>(state.nodeCount).fill(-1);
  const queue: number[] = [];
  for (let node = 0; node < state.nodeCount; node++) {
    if (state.spare(node) < 0) {
      via[node] = SOURCE;
      queue.push(node);
    }
  }
  const accepts = (node: number): boolean =>
    state.spare(node) > 0 || (lowerable >= 0 && node !== lowerable && canRaise(state, node));
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
        if (accepts(to)) {
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
 * Fallbacks leave some nodes over quota while others are under. Trade quota or move replicas
 * along chains until every node is at quota. Each round lowers the total excess by one, so this
 * ends.
 *
 * A chain's steps stay valid when applied in order: its nodes are distinct, so a step never
 * re-adds a node a partition already holds. A partition that appears twice in a chain may end
 * with a repeated zone the strict check did not see; the zone repair runs afterwards.
 */
export function repairBalance(state: PlacementState): void {
  for (const { freshOnly, strict } of REPAIR_TIERS) {
    for (;;) {
      if (tradeQuota(state)) continue;
      const lowerable = lowerableNode(state);
      const chain = findChain(state, freshOnly, strict, lowerable);
      if (chain === null) break;
      for (const { partition, from, to } of chain) {
        state.replaceSlot(partition, state.slotOf(partition, from), to, 'fallback');
      }
      const end = chain[chain.length - 1].to;
      if (state.spare(end) < 0) {
        state.quota[end] += 1;
        state.quota[lowerable] -= 1;
      }
    }
  }
}
