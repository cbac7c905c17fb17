import type { ReplicaReason } from './reasons';

/** A candidate storage node. weight > 0: a node of weight 2 is meant to hold twice the data of weight 1. */
export interface PlacementNode {
  id: string;
  zone: string;
  weight: number;
}

export interface PlacementInput {
  /** Candidate storage nodes, in any order: the result does not depend on it. */
  nodes: PlacementNode[];
  /** K. */
  redundancy: number;
  /** P = 16^D. */
  partitions: number;
  /**
   * Previous assignment, previous[p] = ordered node ids. Ids not in `nodes` are dropped. Null,
   * undefined or [] mean "no previous table"; otherwise it must have exactly P entries.
   */
  previous?: string[][] | null;
}

/**
 * Treat as read-only: a row that did not change is the very array passed in `previous`, and
 * rows of reasons are shared.
 */
export interface Placement {
  /** replicas[p] = min(K, nodes.length) distinct node ids; kept replicas first, in their previous order. */
  replicas: string[][];
  /** Parallel to replicas. */
  reasons: ReplicaReason[][];
}
