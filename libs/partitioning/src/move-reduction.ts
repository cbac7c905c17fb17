import { DENSE_REPAIR_NODES_MAX } from './balance-repair';
import { applyChain, MoveGraph, NO_NODE, type Step } from './move-graph';
import type { PlacementState } from './placement-state';

/**
 * Upper bound on cycles cancelled. Each accepted cycle saves at least one copy, so the real
 * bound is the number of copies in the table; this only guards against a bug. Unit: cycles per
 * replica slot.
 */
const CYCLES_PER_SLOT_MAX = 1;

/** Replicas in the given partitions that the node did not hold before, i.e. copies to make. */
function copiesIn(state: PlacementState, partitions: Iterable<number>): number {
  let copies = 0;
  for (const p of partitions) for (let s = 0; s < state.size(p); s++) if (!state.heldBefore(p, state.at(p, s))) copies += 1;
  return copies;
}

/**
 * A negative cycle needs a step that saves a copy: a partition holding a new replica while a
 * node that held it before (and is still a member) does not. Without one, skip the search.
 */
function hasWaste(state: PlacementState): boolean {
  for (let p = 0; p < state.partitions; p++) {
    let returning = false;
    for (let s = 0; s < state.previousSize(p) && !returning; s++) returning = !state.has(p, state.previousAt(p, s));
    if (!returning) continue;
    for (let s = 0; s < state.size(p); s++) if (!state.heldBefore(p, state.at(p, s))) return true;
  }
  return false;
}

/**
 * A cycle of moves of negative weight (a -> b -> ... -> a, each handing one replica to the
 * next), found by Bellman-Ford from a virtual source at distance 0 to every node. Loads do not
 * change along a cycle.
 */
function findNegativeCycle(graph: MoveGraph, nodeCount: number): Step[] | null {
  const dist = new Array<number>(nodeCount).fill(0);
  const via = new Array<number>(nodeCount).fill(NO_NODE);
  const viaPartition = new Array<number>(nodeCount).fill(-1);
  let relaxed = NO_NODE;
  for (let round = 0; round < nodeCount; round++) {
    relaxed = NO_NODE;
    for (let from = 0; from < nodeCount; from++) {
      for (let to = 0; to < nodeCount; to++) {
        const edge = graph.edge(from, to);
        if (edge.partition >= 0 && dist[from] + edge.weight < dist[to]) {
          dist[to] = dist[from] + edge.weight;
          via[to] = from;
          viaPartition[to] = edge.partition;
          relaxed = to;
        }
      }
    }
    if (relaxed === NO_NODE) return null;
  }
  // Still relaxing after n rounds: walking back n steps from there lands on the cycle.
  let onCycle = relaxed;
  for (let i = 0; i < nodeCount; i++) onCycle = via[onCycle];
  const cycle: Step[] = [];
  let node = onCycle;
  do {
    cycle.push({ partition: viaPartition[node], from: via[node], to: node });
    node = via[node];
  } while (node !== onCycle && cycle.length <= nodeCount);
  return node === onCycle ? cycle.reverse() : null;
}

/**
 * The greedy passes (trimming when K shrinks, shedding, filling, balance chains) decide one
 * replica at a time, and can end up copying a partition to one node while another node that
 * already had it gives it up. Such waste shows up as a negative cycle of moves: cancel cycles
 * until none is left. Balance is untouched (a cycle leaves every load as it was). A cycle is
 * kept only if it really saves copies: its weights are per step, and a partition visited twice
 * may make the sum lie.
 */
export function reduceMoves(state: PlacementState): void {
  // The cycle search is O(n^3); at scale the greedy passes and the direct balance moves are
  // already copy-aware, and a search would cost seconds.
  if (state.nodeCount > DENSE_REPAIR_NODES_MAX || !hasWaste(state)) return;
  const graph = new MoveGraph(state);
  const limit = state.partitions * state.width * CYCLES_PER_SLOT_MAX;
  for (let round = 0; round < limit; round++) {
    const cycle = findNegativeCycle(graph, state.nodeCount);
    if (cycle === null) return;
    const touched = new Set(cycle.map((step) => step.partition));
    const before = copiesIn(state, touched);
    applyChain(state, graph, cycle);
    if (copiesIn(state, touched) < before) continue;
    applyChain(
      state,
      graph,
      [...cycle].reverse().map(({ partition, from, to }) => ({ partition, from: to, to: from })),
    );
    return;
  }
}
