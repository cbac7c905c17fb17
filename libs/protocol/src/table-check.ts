/**
 * Strict checks of a partition table a node is offered (pushed by the controller, fetched
 * from it, or recovered by it from a node). A table decides what a node keeps and what it
 * drops, so a malformed one, or one that does not fit the cluster the node belongs to, is
 * refused whole and changes nothing.
 */
import { NODE_STATES, ADDRESS_RE, NODE_ID_RE, ZONE_RE, partitionCount, type PartitionTable } from './cluster';
import { CLUSTER_ID_RE } from './auth';
import { DEFAULT_LIMITS, PARTITION_DIGITS_MAX, PARTITION_DIGITS_MIN, REDUNDANCY_MAX, REDUNDANCY_MIN } from './limits';

/** What the receiving node already holds; null before its first table. */
export interface HeldTable {
  epoch: number;
  digits: number;
  redundancy: number;
}

/** Label values of the refusal counters (a small fixed set). */
export type TableRefusalReason = 'malformed' | 'mismatch' | 'stale_epoch';

export interface TableProblem {
  code: 'FOG_ERR_BAD_TABLE' | 'FOG_ERR_STALE_EPOCH';
  reason: TableRefusalReason;
  message: string;
}

const bad = (message: string): TableProblem => ({ code: 'FOG_ERR_BAD_TABLE', reason: 'malformed', message });

function isStringArray(x: unknown): x is string[] {
  return Array.isArray(x) && x.every((s) => typeof s === 'string');
}

/**
 * Null when `x` is a well-formed table that fits what the node holds: 16^D partitions with the
 * node's D, its K, every partition with 1..K active replicas, no node named twice, every node
 * named in `nodes`, and an epoch not older than the one held (an equal epoch is a harmless
 * resend: the caller keeps its table). Otherwise the first problem found.
 */
export function tableProblem(x: unknown, held: HeldTable | null, nodesMax: number = DEFAULT_LIMITS.tableNodesMax): TableProblem | null {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) return bad('a table is a JSON object');
  const t = x as Partial<PartitionTable>;
  if (!Number.isSafeInteger(t.epoch) || t.epoch! < 1) return bad('epoch must be a positive integer');
  if (!Number.isSafeInteger(t.digits) || t.digits! < PARTITION_DIGITS_MIN || t.digits! > PARTITION_DIGITS_MAX) {
    return bad(`digits must be an integer in ${PARTITION_DIGITS_MIN}..${PARTITION_DIGITS_MAX}`);
  }
  if (!Number.isSafeInteger(t.redundancy) || t.redundancy! < REDUNDANCY_MIN || t.redundancy! > REDUNDANCY_MAX) {
    return bad(`redundancy must be an integer in ${REDUNDANCY_MIN}..${REDUNDANCY_MAX}`);
  }
  const digits = t.digits!;
  const k = t.redundancy!;
  if (held && (digits !== held.digits || k !== held.redundancy)) {
    return { code: 'FOG_ERR_BAD_TABLE', reason: 'mismatch', message: `the table has D=${digits}, K=${k}; this node holds D=${held.digits}, K=${held.redundancy}` };
  }
  if (held && t.epoch! < held.epoch) {
    return { code: 'FOG_ERR_STALE_EPOCH', reason: 'stale_epoch', message: `epoch ${t.epoch} is older than the held epoch ${held.epoch}` };
  }
  if (t.cluster !== undefined && (typeof t.cluster !== 'string' || !CLUSTER_ID_RE.test(t.cluster))) return bad('cluster must be 16 lowercase hex digits');
  if (t.sig !== undefined && typeof t.sig !== 'string') return bad('sig must be a string');
  const nodes = t.nodes;
  if (typeof nodes !== 'object' || nodes === null || Array.isArray(nodes)) return bad('nodes must be an object of node id to node');
  const ids = Object.keys(nodes);
  if (ids.length < 1 || ids.length > nodesMax) return bad(`a table names 1..${nodesMax} nodes`);
  for (const id of ids) {
    const n = (nodes as Record<string, unknown>)[id] as Record<string, unknown> | null;
    if (!NODE_ID_RE.test(id) || typeof n !== 'object' || n === null || n.id !== id) return bad('every node needs a valid id matching its key');
    if (typeof n.address !== 'string' || !ADDRESS_RE.test(n.address)) return bad(`node ${id} has an invalid address`);
    if (n.internal !== undefined && (typeof n.internal !== 'string' || !ADDRESS_RE.test(n.internal))) return bad(`node ${id} has an invalid internal address`);
    if (typeof n.zone !== 'string' || !ZONE_RE.test(n.zone)) return bad(`node ${id} has an invalid zone`);
    if (typeof n.weight !== 'number' || !Number.isFinite(n.weight) || n.weight <= 0) return bad(`node ${id} has an invalid weight`);
    if (!(NODE_STATES as readonly unknown[]).includes(n.state)) return bad(`node ${id} has an invalid state`);
  }
  const count = partitionCount(digits);
  if (!Array.isArray(t.partitions) || t.partitions.length !== count) {
    return { code: 'FOG_ERR_BAD_TABLE', reason: 'mismatch', message: `a table with D=${digits} has exactly ${count} partitions` };
  }
  for (let p = 0; p < count; p++) {
    const e = t.partitions[p] as unknown as Record<string, unknown> | null;
    if (typeof e !== 'object' || e === null || !isStringArray(e.replicas) || !isStringArray(e.pending)) {
      return bad(`partition ${p} needs replicas and pending lists of node ids`);
    }
    if (e.why !== undefined && !isStringArray(e.why)) return bad(`partition ${p}: why must be a list of strings`);
    if (e.replicas.length < 1 || e.replicas.length > k) return bad(`partition ${p} has ${e.replicas.length} active replicas; a table has 1..K=${k}`);
    // Pending: the target's new replicas (at most K) plus active ones demoted to copy again
    // after losing their data (fewer than K): under 2K.
    if (e.pending.length > 2 * k) return bad(`partition ${p} has ${e.pending.length} pending replicas; at most 2K=${2 * k}`);
    const all = [...e.replicas, ...e.pending];
    if (new Set(all).size !== all.length) return bad(`partition ${p} names a node twice`);
    for (const id of all) if (!Object.prototype.hasOwnProperty.call(nodes, id)) return bad(`partition ${p} names a node the table does not list`);
  }
  return null;
}
