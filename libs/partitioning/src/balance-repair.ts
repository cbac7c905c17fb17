import { applyChain, MoveGraph, NO_NODE, type Step } from './move-graph';
import type { PlacementState } from './placement-state';

/**
 * Above this many nodes the balance repair first tries single moves from a node with too much
 * straight to a node with room: the dense move graph costs O(n^2) edges per search, each row
 * O(P), which at a thousand nodes is seconds; with many nodes a direct move almost always
 * exists. The chain search still settles whatever direct moves cannot. Unit: nodes.
 */
export const DENSE_REPAIR_NODES_MAX = 64;

/**
 * Direct moves source -> target, each the cheapest in copies, then in zones lost, over the
 * source's partitions that the target lacks. Each cuts the violation by one.
 */
function moveDirectly(state: PlacementState, isSource: (node: number) => boolean, isTarget: (node: number) => boolean): void {
  const held = state.partitionsByNode().map((list) => new Set(list));
  const zoneWeight = state.width + 1;
  // Nothing beats a move that regains a copy without losing a zone (or, with no previous
  // table, any move that loses no zone): stop looking once one is found.
  const weightFloor = state.hasPrevious ? -zoneWeight : 0;
  for (let source = 0; source < state.nodeCount; source++) {
    while (isSource(source)) {
      let best: { partition: number; target: number; weight: number } | null = null;
      for (let target = 0; target < state.nodeCount; target++) {
        if (target === source || !isTarget(target)) continue;
        for (const p of held[source]) {
          if (held[target].has(p)) continue;
          const slot = state.slotOf(p, source);
          const weight = state.moveCost(p, slot, target) * zoneWeight + Math.max(0, state.zoneLoss(p, slot, target));
          if (best === null || weight < best.weight) best = { partition: p, target, weight };
          if (best.weight <= weightFloor) break;
        }
        if (best !== null && best.weight <= weightFloor) break;
      }
      if (best === null) break;
      state.replaceSlot(best.partition, state.slotOf(best.partition, source), best.target, 'fallback');
      held[source].delete(best.partition);
      held[best.target].add(best.partition);
    }
  }
}

/** Walks predecessors back from `target`; null if they loop (a negative cycle got in the way). */
function walkBack(target: number, via: readonly number[], viaPartition: readonly number[]): Step[] | null {
  const chain: Step[] = [];
  const seen = new Set<number>([target]);
  for (let node = target; via[node] !== NO_NODE; node = via[node]) {
    if (seen.has(via[node])) return null;
    seen.add(via[node]);
    chain.push({ partition: viaPartition[node], from: via[node], to: node });
  }
  return chain.reverse();
}

/**
 * Cheapest chain of single-replica moves from a source to a target: source gives its replica in
 * p1 to n1, n1 gives its replica in p2 to n2, ..., the target takes the last one. Only the two
 * ends change load. Bellman-Ford, because regaining a previously held partition weighs
 * negative; if that produces a loop, the chain with fewest steps is used instead. Ties go to
 * lower node indices, so the result is deterministic.
 */
function findChain(
  graph: MoveGraph,
  nodeCount: number,
  isSource: (node: number) => boolean,
  isTarget: (node: number) => boolean,
): Step[] | null {
  let sources = 0;
  let targets = 0;
  for (let node = 0; node < nodeCount; node++) {
    if (isSource(node)) sources += 1;
    if (isTarget(node)) targets += 1;
  }
  if (sources === 0 || targets === 0) return null;
  const dist = new Array<number>(nodeCount).fill(Infinity);
  const via = new Array<number>(nodeCount).fill(NO_NODE);
  const viaPartition = new Array<number>(nodeCount).fill(-1);
  for (let node = 0; node < nodeCount; node++) if (isSource(node)) dist[node] = 0;
  for (let round = 0; round < nodeCount; round++) {
    let changed = false;
    for (let from = 0; from < nodeCount; from++) {
      if (dist[from] === Infinity) continue;
      for (let to = 0; to < nodeCount; to++) {
        const edge = graph.edge(from, to);
        if (edge.partition < 0 || isSource(to)) continue;
        if (dist[from] + edge.weight < dist[to]) {
          dist[to] = dist[from] + edge.weight;
          via[to] = from;
          viaPartition[to] = edge.partition;
          changed = true;
        }
      }
    }
    if (!changed) break;
  }
  let best = NO_NODE;
  for (let node = 0; node < nodeCount; node++) {
    if (isTarget(node) && dist[node] < Infinity && (best === NO_NODE || dist[node] < dist[best])) best = node;
  }
  if (best === NO_NODE) return null;
  return walkBack(best, via, viaPartition) ?? fewestSteps(graph, nodeCount, isSource, isTarget);
}

/** Breadth-first fallback for findChain: always terminates, ignores weights. */
function fewestSteps(
  graph: MoveGraph,
  nodeCount: number,
  isSource: (node: number) => boolean,
  isTarget: (node: number) => boolean,
): Step[] | null {
  const via = new Array<number>(nodeCount).fill(NO_NODE);
  const viaPartition = new Array<number>(nodeCount).fill(-1);
  const seen = new Array<boolean>(nodeCount).fill(false);
  const queue: number[] = [];
  for (let node = 0; node < nodeCount; node++) {
    if (isSource(node)) {
      seen[node] = true;
      queue.push(node);
    }
  }
  for (let head = 0; head < queue.length; head++) {
    const from = queue[head];
    for (let to = 0; to < nodeCount; to++) {
      const edge = graph.edge(from, to);
      if (seen[to] || edge.partition < 0) continue;
      seen[to] = true;
      via[to] = from;
      viaPartition[to] = edge.partition;
      if (isTarget(to)) return walkBack(to, via, viaPartition);
      queue.push(to);
    }
  }
  return null;
}

/**
 * After the fill every partition is full, but fallbacks (or a shedding choice the fill could not
 * follow) may have pushed a node above ceil(share) and left another below floor(share). Which
 * nodes get the ceil is a free choice, so the goal is only: every load within [floor(share),
 * ceil(share)]. First drain nodes above their ceil towards any node below its ceil, then feed
 * nodes below their floor from any node above its floor. Each chain cuts the total violation by
 * one without creating another, so this ends; and it is an augmenting path, so when none exists
 * no reassignment at all balances the table.
 *
 * Chains are the cheapest in copies relative to the previous table, so a join or a leave still
 * moves only what it must when the greedy passes got stuck.
 */
export function repairBalance(state: PlacementState): void {
  const n = state.nodeCount;
  const above = (node: number): boolean => state.load[node] > state.quotaHigh[node];
  const below = (node: number): boolean => state.load[node] < state.quotaLow[node];
  const roomBelowHigh = (node: number): boolean => state.load[node] < state.quotaHigh[node];
  const roomAboveLow = (node: number): boolean => state.load[node] > state.quotaLow[node];
  let violations = 0;
  for (let node = 0; node < n; node++) if (above(node) || below(node)) violations += 1;
  if (violations === 0) return;
  if (n > DENSE_REPAIR_NODES_MAX) {
    moveDirectly(state, above, roomBelowHigh);
    moveDirectly(state, roomAboveLow, below);
  }
  const graph = new MoveGraph(state);
  for (let chain = findChain(graph, n, above, roomBelowHigh); chain; chain = findChain(graph, n, above, roomBelowHigh)) {
    applyChain(state, graph, chain);
  }
  for (let chain = findChain(graph, n, roomAboveLow, below); chain; chain = findChain(graph, n, roomAboveLow, below)) {
    applyChain(state, graph, chain);
  }
}
