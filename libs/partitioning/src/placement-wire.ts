import { computePlacement } from './placement';
import type { Placement, PlacementInput, PlacementNode } from './placement-types';
import { REPLICA_REASONS, type ReplicaReason } from './reasons';

/**
 * A placement input as flat arrays, to hand to another thread: a structured clone of P rows of
 * id strings (65,536 × 3 at D=4) costs the sending thread about as much as a join's placement;
 * node indices in one typed array cost a pass over the rows and travel as one buffer.
 */
export interface PlacementInputWire {
  nodes: PlacementNode[];
  redundancy: number;
  partitions: number;
  /** Every id named by `nodes` or the previous rows; rows refer to it by index. */
  ids: string[];
  /** Longest previous row; 0 when there is no previous assignment. */
  stride: number;
  /** partitions × stride indices into `ids`, -1 past the end of a shorter row; null: no previous (or previousRef). */
  previous: Int32Array | null;
  /**
   * Instead of `previous`: the previous assignment is the result of the request with this id,
   * which the receiving thread still holds (the usual case: the controller adopts each result
   * as its target and plans the next change from it). Saves encoding P rows on the sender.
   */
  previousRef?: number;
}

/**
 * A placement's result as the rows that differ from the previous assignment. A row not listed
 * is the previous row, unchanged and all 'kept' — exactly what computePlacement returns for it
 * (the caller's own array), so the receiving side rebuilds the same result by sharing its rows.
 */
export interface PlacementResultWire {
  partitions: number;
  /** Partitions whose row is listed, ascending. */
  changed: Int32Array;
  /** Where row i of `changed` starts in `nodes` and `reasons` (changed.length + 1 entries). */
  rowStart: Int32Array;
  /** Indices into the input's `ids`. */
  nodes: Int32Array;
  /** Indices into REPLICA_REASONS, parallel to `nodes`. */
  reasons: Uint8Array;
}

/** `previousRef`: the receiver holds `input.previous` as the result of that request (see PlacementInputWire). */
export function encodePlacementInput(input: PlacementInput, previousRef?: number): PlacementInputWire {
  const ids: string[] = [];
  const indexOf = new Map<string, number>();
  const index = (id: string): number => {
    let i = indexOf.get(id);
    if (i === undefined) {
      i = ids.length;
      ids.push(id);
      indexOf.set(id, i);
    }
    return i;
  };
  for (const n of input.nodes) index(n.id);
  const prev = input.previous;
  if (!prev || prev.length === 0 || previousRef !== undefined) {
    return {
      nodes: input.nodes.map((n) => ({ id: n.id, zone: n.zone, weight: n.weight })), redundancy: input.redundancy, partitions: input.partitions, ids, stride: 0, previous: null,
      ...(prev && prev.length > 0 && previousRef !== undefined ? { previousRef } : {}),
    };
  }
  let stride = 0;
  for (let p = 0; p < prev.length; p++) stride = Math.max(stride, prev[p]?.length ?? 0);
  const flat = new Int32Array(prev.length * stride).fill(-1);
  for (let p = 0; p < prev.length; p++) {
    const row = prev[p] ?? [];
    for (let s = 0; s < row.length; s++) flat[p * stride + s] = index(row[s]);
  }
  return { nodes: input.nodes.map((n) => ({ id: n.id, zone: n.zone, weight: n.weight })), redundancy: input.redundancy, partitions: input.partitions, ids, stride, previous: flat };
}

/** `held`: the result of request `wire.previousRef`, when the wire refers to one. */
export function decodePlacementInput(wire: PlacementInputWire, held?: { id: number; replicas: string[][] } | null): PlacementInput {
  let previous: string[][] | null = null;
  if (wire.previousRef !== undefined) {
    if (!held || held.id !== wire.previousRef) throw new Error(`placement input refers to result ${wire.previousRef}, which is not held here`);
    previous = held.replicas;
  } else if (wire.previous) {
    const rows = wire.previous.length / Math.max(1, wire.stride);
    previous = new Array<string[]>(rows);
    for (let p = 0; p < rows; p++) {
      const row: string[] = [];
      for (let s = 0; s < wire.stride; s++) {
        const i = wire.previous[p * wire.stride + s];
        if (i < 0) break;
        row.push(wire.ids[i]);
      }
      previous[p] = row;
    }
  }
  return { nodes: wire.nodes, redundancy: wire.redundancy, partitions: wire.partitions, previous };
}

/**
 * Encode `placement`, computed from `input` (as decoded from the wire), by the rows that are
 * not the input's own previous rows.
 */
export function encodePlacementResult(wire: PlacementInputWire, input: PlacementInput, placement: Placement): PlacementResultWire {
  const indexOf = new Map(wire.ids.map((id, i) => [id, i]));
  const reasonOf = new Map(REPLICA_REASONS.map((r, i) => [r, i]));
  const changed: number[] = [];
  let cells = 0;
  for (let p = 0; p < wire.partitions; p++) {
    // computePlacement hands back the caller's row exactly when it is unchanged and all kept.
    if (input.previous?.[p] !== undefined && placement.replicas[p] === input.previous[p]) continue;
    changed.push(p);
    cells += placement.replicas[p].length;
  }
  const rowStart = new Int32Array(changed.length + 1);
  const nodes = new Int32Array(cells);
  const reasons = new Uint8Array(cells);
  let at = 0;
  for (let c = 0; c < changed.length; c++) {
    rowStart[c] = at;
    const row = placement.replicas[changed[c]];
    const why = placement.reasons[changed[c]];
    for (let s = 0; s < row.length; s++, at++) {
      const node = indexOf.get(row[s]);
      const reason = reasonOf.get(why[s]);
      if (node === undefined || reason === undefined) throw new Error(`placement names ${row[s]} (${String(why[s])}), not in its input`);
      nodes[at] = node;
      reasons[at] = reason;
    }
  }
  rowStart[changed.length] = at;
  return { partitions: wire.partitions, changed: Int32Array.from(changed), rowStart, nodes, reasons };
}

/**
 * Rebuild the placement from its wire form, against the input it was computed from on this
 * side (the rows not listed are `input.previous`'s own arrays, as computePlacement returns them).
 */
export function decodePlacementResult(input: PlacementInput, wire: PlacementInputWire, result: PlacementResultWire): Placement {
  if (result.partitions !== input.partitions) throw new Error(`placement result has ${result.partitions} partitions, expected ${input.partitions}`);
  const replicas = new Array<string[]>(input.partitions);
  const reasons = new Array<ReplicaReason[]>(input.partitions);
  const kept: ReplicaReason[][] = [];
  const keptRow = (width: number): ReplicaReason[] => (kept[width] ??= Object.freeze(new Array<ReplicaReason>(width).fill('kept')) as ReplicaReason[]);
  let c = 0;
  for (let p = 0; p < input.partitions; p++) {
    if (c < result.changed.length && result.changed[c] === p) {
      const row: string[] = [];
      const why: ReplicaReason[] = [];
      for (let i = result.rowStart[c]; i < result.rowStart[c + 1]; i++) {
        const id = wire.ids[result.nodes[i]];
        const reason = REPLICA_REASONS[result.reasons[i]];
        if (id === undefined || reason === undefined) throw new Error(`placement result row ${p} has an index outside its input`);
        row.push(id);
        why.push(reason);
      }
      replicas[p] = row;
      reasons[p] = why;
      c++;
      continue;
    }
    const before = input.previous?.[p];
    if (before === undefined) throw new Error(`placement result omits row ${p}, which had no previous row`);
    replicas[p] = before;
    reasons[p] = keptRow(before.length);
  }
  if (c !== result.changed.length) throw new Error('placement result lists partitions out of order or out of range');
  return { replicas, reasons };
}

/**
 * What a placement thread does with one request: decode, place, encode. Also returns the
 * placement's rows, for the thread to hold as `held` for a next request that refers to it.
 */
export function computePlacementWire(wire: PlacementInputWire, held?: { id: number; replicas: string[][] } | null): { result: PlacementResultWire; replicas: string[][] } {
  const input = decodePlacementInput(wire, held);
  const placement = computePlacement(input);
  return { result: encodePlacementResult(wire, input, placement), replicas: placement.replicas };
}
