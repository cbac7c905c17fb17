import type { PlacementState } from './placement-state';

export interface Step {
  partition: number;
  from: number;
  to: number;
}

/** The cheapest way for `from` to hand one replica to `to`: in which partition, at what weight. */
export interface Edge {
  weight: number;
  partition: number;
}

export const NO_EDGE: Edge = { weight: Infinity, partition: -1 };
export const NO_NODE = -1;

/**
 * Best single move from each node to each other node. Weight = copies added (+1), saved (-1 when
 * a node regains a partition it held before) or neither, times `copyWeight`, plus distinct zones
 * lost: fewer copies first, then fewer zone clashes. Rows are recomputed only for nodes in
 * partitions a chain touched, since a row only looks at its own node's partitions.
 */
export class MoveGraph {
  private readonly rows: Edge[][];
  private readonly dirty: boolean[];
  /** Exceeds the zone loss of any chain (at most n steps, each losing under `width` zones). */
  private readonly copyWeight: number;

  constructor(private readonly state: PlacementState) {
    this.rows = Array.from({ length: state.nodeCount }, () => []);
    this.dirty = new Array<boolean>(state.nodeCount).fill(true);
    this.copyWeight = state.nodeCount * state.width + 1;
  }

  edge(from: number, to: number): Edge {
    if (this.dirty[from]) this.refreshRow(from);
    return this.rows[from][to];
  }

  touch(partition: number): void {
    for (let s = 0; s < this.state.size(partition); s++) this.dirty[this.state.at(partition, s)] = true;
  }

  private refreshRow(from: number): void {
    const { state } = this;
    const row = new Array<Edge>(state.nodeCount).fill(NO_EDGE);
    const zoneCounts = new Array<number>(state.zoneCount).fill(0);
    const fromZone = state.zoneOf[from];
    for (let p = 0; p < state.partitions; p++) {
      if (!state.has(p, from)) continue;
      const size = state.size(p);
      for (let s = 0; s < size; s++) zoneCounts[state.zoneOf[state.at(p, s)]] += 1;
      // Zones lost = the giver's zone disappearing, minus the taker's zone appearing.
      const fromZoneGoes = zoneCounts[fromZone] === 1 ? 1 : 0;
      const fromFresh = state.heldBefore(p, from) ? 0 : 1;
      for (let to = 0; to < state.nodeCount; to++) {
        if (state.has(p, to)) continue;
        const toZone = state.zoneOf[to];
        const toZoneComes = zoneCounts[toZone] - (toZone === fromZone ? 1 : 0) === 0 ? 1 : 0;
        const copies = (state.heldBefore(p, to) ? 0 : 1) - fromFresh;
        const weight = copies * this.copyWeight + Math.max(0, fromZoneGoes - toZoneComes);
        if (weight < row[to].weight) row[to] = { weight, partition: p };
      }
      for (let s = 0; s < size; s++) zoneCounts[state.zoneOf[state.at(p, s)]] = 0;
    }
    this.rows[from] = row;
    this.dirty[from] = false;
  }
}

/**
 * A chain's steps stay valid when applied in order: its nodes are distinct, so a step never
 * re-adds a node a partition already holds. A partition that appears twice in a chain may end
 * with a repeated zone the weights did not see; the zone repair runs afterwards.
 */
export function applyChain(state: PlacementState, graph: MoveGraph, chain: readonly Step[]): void {
  for (const { partition, from, to } of chain) {
    graph.touch(partition);
    state.replaceSlot(partition, state.slotOf(partition, from), to, 'fallback');
    graph.touch(partition);
  }
}

