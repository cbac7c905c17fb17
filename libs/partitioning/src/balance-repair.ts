import { applyChain, MoveGraph, NO_NODE, type Step } from './move-graph';
import type { PlacementState } from './placement-state';

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
  const graph = new MoveGraph(state);
  const n = state.nodeCount;
  const above = (node: number): boolean => state.load[node] > state.quotaHigh[node];
  const below = (node: number): boolean => state.load[node] < state.quotaLow[node];
  const roomBelowHigh = (node: number): boolean => state.load[node] < state.quotaHigh[node];
  const roomAboveLow = (node: number): boolean => state.load[node] > state.quotaLow[node];
  for (let chain = findChain(graph, n, above, roomBelowHigh); chain; chain = findChain(graph, n, above, roomBelowHigh)) {
    applyChain(state, graph, chain);
  }
  for (let chain = findChain(graph, n, roomAboveLow, below); chain; chain = findChain(graph, n, roomAboveLow, below)) {
    applyChain(state, graph, chain);
  }
}
