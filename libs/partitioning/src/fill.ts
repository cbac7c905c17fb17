import type { PlacementState } from './placement-state';
import type { ReplicaReason } from './reasons';
import { nodeHash, uniformOf, type NodeHash } from './rendezvous';

/**
 * Nodes drawn (by weight) for one hole before the fill gives up drawing and looks at every node
 * that still has spare quota. Drawing keeps a hole at O(1) expected work while many nodes have
 * room; the scan takes over near the end of a first table, when few do. Unit: draws per hole.
 */
export const FILL_DRAWS_PER_HOLE_MAX = 48;

/** The hash behind the j-th weighted draw of a partition (one per draw index, made once). */
const drawHashes: NodeHash[] = Array.from({ length: FILL_DRAWS_PER_HOLE_MAX }, (_, j) => nodeHash(`draw:${j}`));

/** Weighted sampling with replacement: node i with probability weight_i / total weight. */
class WeightedDraw {
  private readonly cumulative: Float64Array;
  private readonly total: number;

  constructor(state: PlacementState) {
    this.cumulative = new Float64Array(state.nodeCount);
    let sum = 0;
    for (let node = 0; node < state.nodeCount; node++) {
      sum += state.nodes[node].weight;
      this.cumulative[node] = sum;
    }
    this.total = sum;
  }

  /** The j-th node drawn for partition p. */
  draw(p: number, j: number): number {
    const target = uniformOf(p, drawHashes[j]) * this.total;
    let lo = 0;
    let hi = this.cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.cumulative[mid] > target) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }
}

/**
 * Nodes that must enter every remaining partition they can still enter, or end under quota:
 * spare >= chances, where chances = partitions still to fill that lack the node. With
 * key = spare + (partitions still to fill that hold the node) the condition is key >= remaining;
 * keys never grow and remaining falls by one per partition, so a node once critical stays
 * critical, and the others need a fresh look only when `remaining` reaches the largest key
 * among them (an upper bound kept without rescanning).
 */
class CriticalNodes {
  readonly list: number[] = [];
  private readonly isCritical: Uint8Array;
  private nonCriticalKeyMax = Infinity;

  constructor(private readonly state: PlacementState, private readonly contained: Int32Array) {
    this.isCritical = new Uint8Array(state.nodeCount);
  }

  key(node: number): number {
    return this.state.spare(node) + this.contained[node];
  }

  update(remaining: number): void {
    if (this.nonCriticalKeyMax < remaining) return;
    let max = -Infinity;
    for (let node = 0; node < this.state.nodeCount; node++) {
      if (this.isCritical[node]) continue;
      const key = this.key(node);
      if (key >= remaining) {
        this.isCritical[node] = 1;
        this.list.push(node);
      } else if (key > max) max = key;
    }
    this.nonCriticalKeyMax = max;
  }
}

/**
 * Fills every hole, partitions in order 0..P-1. Preference among nodes not yet in the partition
 * and under quota: the partition's weighted draws in order (a node of weight 2 comes up twice as
 * often), or, once FILL_DRAWS_PER_HOLE_MAX draws found nobody, the highest rendezvous score
 * among all nodes with spare quota. A node in a zone the partition does not use yet beats any
 * node in a used zone (reason 'zone' when that skipped the first choice).
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
 *
 * Cost: O(P * K) plus O(K) expected draws per hole, plus a scan of the nodes with spare quota
 * for holes the draws miss; never O(P * n).
 */
export function fillHoles(state: PlacementState): void {
  const n = state.nodeCount;
  const contained = new Int32Array(n);
  let remaining = 0;
  for (let p = 0; p < state.partitions; p++) {
    if (state.holes(p) <= 0) continue;
    remaining += 1;
    for (let s = 0; s < state.size(p); s++) contained[state.at(p, s)] += 1;
  }
  if (remaining === 0) return;
  const context: FillContext = {
    state,
    draws: new WeightedDraw(state),
    critical: new CriticalNodes(state, contained),
    withSpare: [],
    zoneSpare: new Array<number>(state.zoneCount).fill(0),
  };
  for (let node = 0; node < n; node++) {
    if (state.spare(node) <= 0) continue;
    context.withSpare.push(node);
    context.zoneSpare[state.zoneOf[node]] += state.spare(node);
  }
  for (let p = 0; p < state.partitions; p++) {
    if (state.holes(p) <= 0) continue;
    const before = state.row(p);
    context.critical.update(remaining);
    while (state.holes(p) > 0) fillOne(context, p, remaining, contained);
    remaining -= 1;
    for (const node of before) contained[node] -= 1;
  }
}

interface FillContext {
  state: PlacementState;
  draws: WeightedDraw;
  critical: CriticalNodes;
  /** Nodes that had spare quota when last looked at; compacted when scanned. */
  withSpare: number[];
  /** Spare quota per zone: when no unused zone of a partition has any, no draw can find one. */
  zoneSpare: number[];
}

/** Whether some zone p does not use yet still has a node with spare quota. */
function newZoneLeft(context: FillContext, p: number): boolean {
  const { state } = context;
  for (let zone = 0; zone < state.zoneCount; zone++) {
    if (context.zoneSpare[zone] > 0 && !state.zoneUsed(p, zone)) return true;
  }
  return false;
}

function place(context: FillContext, p: number, node: number, reason: ReplicaReason): void {
  const { state } = context;
  if (state.spare(node) > 0) context.zoneSpare[state.zoneOf[node]] -= 1;
  state.add(p, node, reason);
}

/**
 * The reason a fresh pick gets: 'rank' if rank and zones alone would have chosen it, 'zone' if
 * only the zone preference would, 'fallback' if neither (balance forced it).
 */
function reasonFor(pick: number, best: number, bestNewZone: number): ReplicaReason {
  if (pick === bestNewZone) return pick === best ? 'rank' : 'zone';
  return pick === best && bestNewZone < 0 ? 'rank' : 'fallback';
}

function fillOne(context: FillContext, p: number, remaining: number, contained: Int32Array): void {
  const { state } = context;
  const newZone = (node: number): boolean => !state.zoneUsed(p, state.zoneOf[node]);
  // Ties in score go to the smaller index, i.e. the smaller id: nodes are in canonical order.
  const outranks = (a: number, b: number): boolean => b < 0 || state.score(p, a) > state.score(p, b);
  const eligible = (node: number): boolean => state.spare(node) > 0 && !state.has(p, node);

  let forced = -1;
  let forcedNewZone = false;
  for (const node of context.critical.list) {
    if (!eligible(node) || state.spare(node) + contained[node] < remaining) continue;
    const fresh = newZone(node);
    if (forced < 0 || (fresh && !forcedNewZone) || (fresh === forcedNewZone && outranks(node, forced))) {
      forced = node;
      forcedNewZone = fresh;
    }
  }

  let returning = -1;
  let returningNewZone = false;
  for (let s = 0; s < state.previousSize(p); s++) {
    const node = state.previousAt(p, s);
    if (!eligible(node)) continue;
    const fresh = newZone(node);
    if (returning < 0 || (fresh && !returningNewZone) || (fresh === returningNewZone && outranks(node, returning))) {
      returning = node;
      returningNewZone = fresh;
    }
  }

  let best = -1;
  let bestNewZone = -1;
  const wantNewZone = newZoneLeft(context, p);
  for (let j = 0; j < FILL_DRAWS_PER_HOLE_MAX && (bestNewZone < 0 || best < 0); j++) {
    const node = context.draws.draw(p, j);
    if (!eligible(node)) continue;
    if (best < 0) best = node;
    if (!wantNewZone) break;
    if (newZone(node)) bestNewZone = node;
  }
  if ((wantNewZone && bestNewZone < 0) || best < 0) {
    // The draws missed: look at every node with room, by rendezvous score.
    best = -1;
    bestNewZone = -1;
    let bestScore = -Infinity;
    let bestNewZoneScore = -Infinity;
    let kept = 0;
    const list = context.withSpare;
    for (let i = 0; i < list.length; i++) {
      const node = list[i];
      if (state.spare(node) <= 0) continue;
      list[kept++] = node;
      if (state.has(p, node)) continue;
      const score = state.score(p, node);
      if (score > bestScore) {
        best = node;
        bestScore = score;
      }
      if (score > bestNewZoneScore && wantNewZone && newZone(node)) {
        bestNewZone = node;
        bestNewZoneScore = score;
      }
    }
    list.length = kept;
  }

  if (forced >= 0) place(context, p, forced, reasonFor(forced, best, bestNewZone));
  else if (returning >= 0 && (returningNewZone || bestNewZone < 0)) place(context, p, returning, 'kept');
  else if (bestNewZone >= 0) place(context, p, bestNewZone, reasonFor(bestNewZone, best, bestNewZone));
  else if (best >= 0) place(context, p, best, 'rank');
  else place(context, p, fallbackFor(state, p), 'fallback');
}

/** No node under quota can enter p: prefer one that held it before, a new zone, then the most spare. */
function fallbackFor(state: PlacementState, p: number): number {
  let fallback = -1;
  let fallbackNewZone = false;
  let fallbackHeldBefore = false;
  for (let node = 0; node < state.nodeCount; node++) {
    if (state.has(p, node)) continue;
    const newZone = !state.zoneUsed(p, state.zoneOf[node]);
    const spare = state.spare(node);
    const heldBefore = state.heldBefore(p, node);
    const better =
      fallback < 0 ||
      (heldBefore && !fallbackHeldBefore) ||
      (heldBefore === fallbackHeldBefore &&
        ((newZone && !fallbackNewZone) ||
          (newZone === fallbackNewZone &&
            (spare > state.spare(fallback) || (spare === state.spare(fallback) && state.score(p, node) > state.score(p, fallback))))));
    if (better) {
      fallback = node;
      fallbackNewZone = newZone;
      fallbackHeldBefore = heldBefore;
    }
  }
  return fallback;
}
