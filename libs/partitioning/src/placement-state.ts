import { zoneIndices } from './node-order';
import type { PlacementNode } from './placement-types';
import { quotaBounds } from './quotas';
import type { ReplicaReason } from './reasons';
import { rendezvousScore } from './rendezvous';

/**
 * The table being built, with nodes as indices into the canonical (id-sorted) node list. One
 * mutable object shared by the placement passes; it is never handed out.
 */
export class PlacementState {
  readonly nodeCount: number;
  /** Zone of each node, as an index into the sorted distinct zone names. */
  readonly zoneOf: number[];
  readonly zoneCount: number;
  /** Node indices per partition. */
  readonly members: number[][];
  /** Parallel to members: how each replica got there (kept ones are relabelled at the end). */
  readonly reasons: ReplicaReason[][];
  readonly load: number[];
  /** floor(share): the least a node may end with; the balance repair settles every load within [low, high]. */
  readonly quotaLow: number[];
  /** ceil(share) (floor if the share is whole): the most a node may end with. */
  readonly quotaHigh: number[];
  /** The previous table (normalized), one empty row per partition when there is none. */
  readonly previous: readonly (readonly number[])[];

  constructor(
    readonly nodes: readonly PlacementNode[],
    readonly partitions: number,
    /** Replicas per partition: min(K, n). */
    readonly width: number,
    shares: readonly number[],
    /** Whole-slot quota per node (within [quotaLow, quotaHigh]) that shedding and fill aim at. */
    readonly quota: readonly number[],
    previous: readonly (readonly number[])[] | null,
  ) {
    this.nodeCount = nodes.length;
    const bounds = shares.map((share) => quotaBounds(share, partitions));
    this.quotaLow = bounds.map((b) => b.low);
    this.quotaHigh = bounds.map((b) => b.high);
    this.zoneOf = zoneIndices(nodes);
    this.zoneCount = new Set(this.zoneOf).size;
    this.members = Array.from({ length: partitions }, () => []);
    this.reasons = Array.from({ length: partitions }, () => []);
    this.load = nodes.map(() => 0);
    this.previous = previous ?? Array.from({ length: partitions }, () => []);
  }

  /** Most distinct zones one partition can have. */
  get zoneTarget(): number {
    return Math.min(this.width, this.zoneCount);
  }

  holes(p: number): number {
    return this.width - this.members[p].length;
  }

  slotOf(p: number, node: number): number {
    return this.members[p].indexOf(node);
  }

  has(p: number, node: number): boolean {
    return this.members[p].includes(node);
  }

  /** Whether the node held p in the previous table: having it there again costs no copy. */
  heldBefore(p: number, node: number): boolean {
    return this.previous[p].includes(node);
  }

  /** Copies that giving p's replica in `slot` to `node` adds (+1), saves (-1) or leaves (0). */
  moveCost(p: number, slot: number, node: number): number {
    return Number(!this.heldBefore(p, node)) - Number(!this.heldBefore(p, this.members[p][slot]));
  }

  spare(node: number): number {
    return this.quota[node] - this.load[node];
  }

  score(p: number, node: number): number {
    const { id, weight } = this.nodes[node];
    return rendezvousScore(p, id, weight);
  }

  /** Whether `zone` is used in partition p by a replica other than the one in `skipSlot`. */
  zoneUsed(p: number, zone: number, skipSlot = -1): boolean {
    const members = this.members[p];
    for (let s = 0; s < members.length; s++) {
      if (s !== skipSlot && this.zoneOf[members[s]] === zone) return true;
    }
    return false;
  }

  /** Distinct zones in p, optionally as if the replica in `slot` were `replacement`. */
  distinctZones(p: number, slot = -1, replacement = -1): number {
    const seen: number[] = [];
    const members = this.members[p];
    for (let s = 0; s < members.length; s++) {
      const zone = this.zoneOf[s === slot ? replacement : members[s]];
      if (!seen.includes(zone)) seen.push(zone);
    }
    return seen.length;
  }

  /** Distinct zones p loses if the replica in `slot` is replaced by `node` (negative: gains). */
  zoneLoss(p: number, slot: number, node: number): number {
    return this.distinctZones(p) - this.distinctZones(p, slot, node);
  }

  add(p: number, node: number, reason: ReplicaReason): void {
    this.members[p].push(node);
    this.reasons[p].push(reason);
    this.load[node] += 1;
  }

  removeSlot(p: number, slot: number): void {
    this.load[this.members[p][slot]] -= 1;
    this.members[p].splice(slot, 1);
    this.reasons[p].splice(slot, 1);
  }

  replaceSlot(p: number, slot: number, node: number, reason: ReplicaReason): void {
    this.load[this.members[p][slot]] -= 1;
    this.load[node] += 1;
    this.members[p][slot] = node;
    this.reasons[p][slot] = reason;
  }

  /**
   * Replicas the node held before first, in their previous order (they are 'kept'), then the
   * new ones in the order they were placed.
   */
  orderedRow(p: number): { nodes: number[]; reasons: ReplicaReason[] } {
    const previous = this.previous[p];
    const slots = this.members[p].map((node, slot) => ({ node, slot, rank: previous.indexOf(node) }));
    const kept = slots.filter((s) => s.rank >= 0).sort((a, b) => a.rank - b.rank);
    const fresh = slots.filter((s) => s.rank < 0);
    const ordered = [...kept, ...fresh];
    return {
      nodes: ordered.map((s) => s.node),
      reasons: ordered.map((s) => (s.rank >= 0 ? 'kept' : this.reasons[p][s.slot])),
    };
  }
}
