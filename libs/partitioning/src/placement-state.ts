import { zoneIndices } from './node-order';
import type { PlacementNode } from './placement-types';
import { quotaBounds } from './quotas';
import { REPLICA_REASONS, type ReplicaReason } from './reasons';
import { nodeHash, scoreOf, type NodeHash } from './rendezvous';

/** A table as node indices in one flat array: row p is nodes[p * stride .. p * stride + size[p]). */
export interface FlatTable {
  stride: number;
  size: Uint8Array;
  nodes: Int32Array;
}

export function emptyFlatTable(partitions: number, stride: number): FlatTable {
  return { stride, size: new Uint8Array(partitions), nodes: new Int32Array(partitions * Math.max(1, stride)) };
}

const REASON_CODE = new Map<ReplicaReason, number>(REPLICA_REASONS.map((reason, i) => [reason, i]));

/**
 * The table being built, with nodes as indices into the canonical (id-sorted) node list. One
 * mutable object shared by the placement passes; it is never handed out.
 *
 * Rows live in flat typed arrays, not one small array per partition: at 65,536 partitions the
 * garbage collector spent more time moving hundreds of thousands of tiny arrays than the
 * placement spent deciding.
 */
export class PlacementState {
  readonly nodeCount: number;
  /** Zone of each node, as an index into the sorted distinct zone names. */
  readonly zoneOf: number[];
  readonly zoneCount: number;
  /** Slots per row: K, or more while a previous table with a larger K is trimmed. */
  private readonly stride: number;
  private readonly rowSize: Uint8Array;
  private readonly slots: Int32Array;
  /** Parallel to slots: how each replica got there, as an index into REPLICA_REASONS. */
  private readonly why: Uint8Array;
  readonly load: number[];
  /** floor(share): the least a node may end with; the balance repair settles every load within [low, high]. */
  readonly quotaLow: number[];
  /** ceil(share) (floor if the share is whole): the most a node may end with. */
  readonly quotaHigh: number[];
  /** The previous table (normalized); rows of size 0 when there is none. */
  readonly previous: FlatTable;
  readonly hasPrevious: boolean;
  /** Each node's id hashed once: scores are then integer mixing, not one SHA-1 per pair. */
  readonly hashes: readonly NodeHash[];

  constructor(
    readonly nodes: readonly PlacementNode[],
    readonly partitions: number,
    /** Replicas per partition: min(K, n). */
    readonly width: number,
    shares: readonly number[],
    /** Whole-slot quota per node (within [quotaLow, quotaHigh]) that shedding and fill aim at. */
    readonly quota: readonly number[],
    previous: FlatTable | null,
  ) {
    this.nodeCount = nodes.length;
    const bounds = shares.map((share) => quotaBounds(share, partitions));
    this.quotaLow = bounds.map((b) => b.low);
    this.quotaHigh = bounds.map((b) => b.high);
    this.zoneOf = zoneIndices(nodes);
    this.zoneCount = new Set(this.zoneOf).size;
    this.hasPrevious = previous !== null;
    this.previous = previous ?? emptyFlatTable(partitions, 0);
    this.stride = Math.max(1, width, this.previous.stride);
    this.rowSize = new Uint8Array(partitions);
    this.slots = new Int32Array(partitions * this.stride);
    this.why = new Uint8Array(partitions * this.stride);
    this.load = nodes.map(() => 0);
    this.hashes = nodes.map((node) => nodeHash(node.id));
  }

  /** Most distinct zones one partition can have. */
  get zoneTarget(): number {
    return Math.min(this.width, this.zoneCount);
  }

  size(p: number): number {
    return this.rowSize[p];
  }

  /** The node in p's slot s. */
  at(p: number, slot: number): number {
    return this.slots[p * this.stride + slot];
  }

  reasonAt(p: number, slot: number): ReplicaReason {
    return REPLICA_REASONS[this.why[p * this.stride + slot]];
  }

  /** A copy of p's members, for passes that are not on the hot path. */
  row(p: number): number[] {
    return Array.from(this.slots.subarray(p * this.stride, p * this.stride + this.rowSize[p]));
  }

  holes(p: number): number {
    return this.width - this.rowSize[p];
  }

  slotOf(p: number, node: number): number {
    const base = p * this.stride;
    for (let s = 0; s < this.rowSize[p]; s++) if (this.slots[base + s] === node) return s;
    return -1;
  }

  has(p: number, node: number): boolean {
    return this.slotOf(p, node) >= 0;
  }

  previousSize(p: number): number {
    return this.previous.size[p];
  }

  previousAt(p: number, slot: number): number {
    return this.previous.nodes[p * this.previous.stride + slot];
  }

  /** Position of the node in p's previous row, -1 if it did not hold p. */
  previousRank(p: number, node: number): number {
    const { stride, size, nodes } = this.previous;
    const base = p * stride;
    for (let s = 0; s < size[p]; s++) if (nodes[base + s] === node) return s;
    return -1;
  }

  /** Whether the node held p in the previous table: having it there again costs no copy. */
  heldBefore(p: number, node: number): boolean {
    return this.previousRank(p, node) >= 0;
  }

  /** Copies that giving p's replica in `slot` to `node` adds (+1), saves (-1) or leaves (0). */
  moveCost(p: number, slot: number, node: number): number {
    return Number(!this.heldBefore(p, node)) - Number(!this.heldBefore(p, this.at(p, slot)));
  }

  spare(node: number): number {
    return this.quota[node] - this.load[node];
  }

  score(p: number, node: number): number {
    return scoreOf(p, this.hashes[node], this.nodes[node].weight);
  }

  /** The partitions each node holds now, ascending. O(P * K): built once by a pass that needs it. */
  partitionsByNode(): number[][] {
    const lists: number[][] = Array.from({ length: this.nodeCount }, () => []);
    for (let p = 0; p < this.partitions; p++) for (let s = 0; s < this.rowSize[p]; s++) lists[this.at(p, s)].push(p);
    return lists;
  }

  /** Replicas of zone `zone` in p. */
  zoneCountIn(p: number, zone: number): number {
    const base = p * this.stride;
    let count = 0;
    for (let s = 0; s < this.rowSize[p]; s++) if (this.zoneOf[this.slots[base + s]] === zone) count += 1;
    return count;
  }

  /** Whether `zone` is used in partition p by a replica other than the one in `skipSlot`. */
  zoneUsed(p: number, zone: number, skipSlot = -1): boolean {
    const base = p * this.stride;
    for (let s = 0; s < this.rowSize[p]; s++) {
      if (s !== skipSlot && this.zoneOf[this.slots[base + s]] === zone) return true;
    }
    return false;
  }

  /** Distinct zones in p, optionally as if the replica in `slot` were `replacement`. No allocation: it runs per candidate. */
  distinctZones(p: number, slot = -1, replacement = -1): number {
    const base = p * this.stride;
    const n = this.rowSize[p];
    let distinct = 0;
    for (let s = 0; s < n; s++) {
      const zone = this.zoneOf[s === slot ? replacement : this.slots[base + s]];
      let seenBefore = false;
      for (let r = 0; r < s && !seenBefore; r++) seenBefore = this.zoneOf[r === slot ? replacement : this.slots[base + r]] === zone;
      if (!seenBefore) distinct += 1;
    }
    return distinct;
  }

  /** Distinct zones p loses if the replica in `slot` is replaced by `node` (negative: gains). */
  zoneLoss(p: number, slot: number, node: number): number {
    return this.distinctZones(p) - this.distinctZones(p, slot, node);
  }

  add(p: number, node: number, reason: ReplicaReason): void {
    const at = p * this.stride + this.rowSize[p];
    if (this.rowSize[p] >= this.stride) throw new Error(`partition ${p} is full`);
    this.slots[at] = node;
    this.why[at] = REASON_CODE.get(reason) as number;
    this.rowSize[p] += 1;
    this.load[node] += 1;
  }

  removeSlot(p: number, slot: number): void {
    const base = p * this.stride;
    this.load[this.slots[base + slot]] -= 1;
    for (let s = slot; s < this.rowSize[p] - 1; s++) {
      this.slots[base + s] = this.slots[base + s + 1];
      this.why[base + s] = this.why[base + s + 1];
    }
    this.rowSize[p] -= 1;
  }

  replaceSlot(p: number, slot: number, node: number, reason: ReplicaReason): void {
    const at = p * this.stride + slot;
    this.load[this.slots[at]] -= 1;
    this.load[node] += 1;
    this.slots[at] = node;
    this.why[at] = REASON_CODE.get(reason) as number;
  }

  /** Whether p holds exactly the nodes of its previous row (in any order): nothing moved. */
  unchanged(p: number): boolean {
    if (this.rowSize[p] !== this.previousSize(p)) return false;
    for (let s = 0; s < this.rowSize[p]; s++) if (this.previousRank(p, this.at(p, s)) < 0) return false;
    return true;
  }

  /**
   * Replicas the node held before first, in their previous order (they are 'kept'), then the
   * new ones in the order they were placed; as ids, for the result.
   */
  orderedRow(p: number, ids: readonly string[]): { nodes: string[]; reasons: ReplicaReason[] } {
    const n = this.rowSize[p];
    const nodes: string[] = [];
    const reasons: ReplicaReason[] = [];
    for (let rank = 0; rank < this.previousSize(p); rank++) {
      const node = this.previousAt(p, rank);
      if (this.slotOf(p, node) >= 0) {
        nodes.push(ids[node]);
        reasons.push('kept');
      }
    }
    for (let s = 0; s < n; s++) {
      const node = this.at(p, s);
      if (this.previousRank(p, node) >= 0) continue;
      nodes.push(ids[node]);
      reasons.push(this.reasonAt(p, s));
    }
    return { nodes, reasons };
  }
}
