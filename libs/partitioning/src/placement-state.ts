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
  /** Node indices per partition; kept replicas first, in their previous order. */
  readonly members: number[][];
  /** Parallel to members: true if the replica was kept from the previous table. */
  readonly kept: boolean[][];
  readonly reasons: ReplicaReason[][];
  readonly load: number[];
  /** Whole-slot quota per node; the balance repair may trade a slot between two nodes within their bounds. */
  readonly quota: number[];
  /** floor(share): the least quota a node may end with. */
  readonly quotaLow: number[];
  /** ceil(share): the most quota a node may end with. */
  readonly quotaHigh: number[];

  constructor(
    readonly nodes: readonly PlacementNode[],
    readonly partitions: number,
    /** Replicas per partition: min(K, n). */
    readonly width: number,
    shares: readonly number[],
    quota: readonly number[],
  ) {
    this.nodeCount = nodes.length;
    this.quota = [...quota];
    const bounds = shares.map((share) => quotaBounds(share, partitions));
    this.quotaLow = bounds.map((b) => b.low);
    this.quotaHigh = bounds.map((b) => b.high);
    const zoneNames = [...new Set(nodes.map((node) => node.zone))].sort();
    const zoneIndex = new Map(zoneNames.map((zone, i) => [zone, i]));
    this.zoneOf = nodes.map((node) => zoneIndex.get(node.zone) as number);
    this.zoneCount = zoneNames.length;
    this.members = Array.from({ length: partitions }, () => []);
    this.kept = Array.from({ length: partitions }, () => []);
    this.reasons = Array.from({ length: partitions }, () => []);
    this.load = nodes.map(() => 0);
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

  /** Distinct zones in p, optionally as if the replica in `skipSlot` were `replacement`. */
  distinctZones(p: number, skipSlot = -1, replacement = -1): number {
    const seen: number[] = [];
    const members = this.members[p];
    for (let s = 0; s < members.length; s++) {
      const zone = this.zoneOf[s === skipSlot && replacement >= 0 ? replacement : members[s]];
      if (s === skipSlot && replacement < 0) continue;
      if (!seen.includes(zone)) seen.push(zone);
    }
    return seen.length;
  }

  /** Replacing the replica in `slot` by `node` leaves at least as many distinct zones. */
  keepsZones(p: number, slot: number, node: number): boolean {
    return this.distinctZones(p, slot, node) >= this.distinctZones(p);
  }

  add(p: number, node: number, kept: boolean, reason: ReplicaReason): void {
    this.members[p].push(node);
    this.kept[p].push(kept);
    this.reasons[p].push(reason);
    this.load[node] += 1;
  }

  removeSlot(p: number, slot: number): void {
    this.load[this.members[p][slot]] -= 1;
    this.members[p].splice(slot, 1);
    this.kept[p].splice(slot, 1);
    this.reasons[p].splice(slot, 1);
  }

  /** A fresh replica takes the slot; a kept one being replaced loses its place in the kept order. */
  replaceSlot(p: number, slot: number, node: number, reason: ReplicaReason): void {
    if (this.kept[p][slot]) {
      this.removeSlot(p, slot);
      this.add(p, node, false, reason);
      return;
    }
    this.load[this.members[p][slot]] -= 1;
    this.load[node] += 1;
    this.members[p][slot] = node;
    this.reasons[p][slot] = reason;
  }
}
