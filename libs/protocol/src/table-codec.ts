import { FogError } from './errors';
import { NODE_STATES, partitionCount, type NodeState, type PartitionEntry, type PartitionTable, type TableNode } from './cluster';

/**
 * How a partition table travels (controller -> frontends and storage nodes).
 *
 * - delta: the change from the epoch before: changed partitions and node entries only. What is
 *   pushed when the receiver holds the base epoch; its size follows the change, not the table.
 * - compact: the whole table with replicas as indices into the node list and the placement
 *   reasons as a small dictionary, for a receiver that is new or too far behind (about a tenth
 *   of the plain JSON).
 * - plain: the PartitionTable object itself (GET /v1/table, older controllers).
 *
 * Both encodings carry a checksum of the resulting table; a receiver that computes another one
 * keeps its table and answers FOG_ERR_TABLE_CHECKSUM.
 */
export interface CompactTable {
  format: 'compact';
  epoch: number;
  /** The cluster id and the controller's signature of the table (auth.ts), when it has them. */
  cluster?: string;
  sig?: string;
  digits: number;
  redundancy: number;
  checksum: string;
  nodes: TableNode[];
  /** Per partition: active replicas as node indices, then pending ones as -(index + 1). */
  rows: number[][];
  /**
   * Placement reasons (what `locate` explains), as a dictionary: the distinct reason lists, and
   * per partition the index of its list (-1: none). A few distinct lists cover a whole table.
   */
  why?: { lists: string[][]; index: number[] };
}

export interface TableDelta {
  format: 'delta';
  baseEpoch: number;
  epoch: number;
  /** The cluster id and the signature of the resulting table, when the controller has them. */
  cluster?: string;
  sig?: string;
  digits: number;
  redundancy: number;
  checksum: string;
  /** Node entries that are new or changed. */
  nodesSet: TableNode[];
  /** Ids no longer in the table's node list. */
  nodesRemoved: string[];
  /** Partitions whose entry changed, with the whole new entry. */
  partitions: Array<{ p: number; replicas: string[]; pending: string[]; why?: string[] }>;
}

export type TableMessage = PartitionTable | CompactTable | TableDelta;

/** Seeds of the two 32-bit FNV-1a lanes of the checksum. */
const FNV_OFFSET = 0x811c9dc5;
const FNV_OFFSET_2 = 0x01000193 ^ 0x5bd1e995;
const FNV_PRIME = 0x01000193;
/** Separators mixed between fields so that moving an id across a boundary changes the sum. */
const SEP_ROW = 0x1f;
const SEP_PENDING = 0x1e;

function fnvString(h: number, text: string): number {
  let x = h;
  for (let i = 0; i < text.length; i++) x = Math.imul(x ^ text.charCodeAt(i), FNV_PRIME);
  return x;
}

function mix(h: number, value: number): number {
  return Math.imul(h ^ value, FNV_PRIME);
}

/**
 * Checksum of what a table says (digits, K, nodes, replicas and pending per partition), not of
 * its encoding; placement reasons and the epoch are left out. 64 bits as 16 hex digits.
 */
export function tableChecksum(table: Pick<PartitionTable, 'digits' | 'redundancy' | 'nodes' | 'partitions'>): string {
  let a = mix(mix(FNV_OFFSET, table.digits), table.redundancy);
  let b = mix(mix(FNV_OFFSET_2, table.redundancy), table.digits);
  const ids = Object.keys(table.nodes).sort();
  const idHash = new Map<string, number>();
  for (const id of ids) {
    const n = table.nodes[id];
    a = fnvString(a, `${n.id}\u0000${n.address}\u0000${n.zone}\u0000${n.weight}\u0000${n.state}${n.internal !== undefined ? `\u0000${n.internal}` : ''}`);
    b = fnvString(b, `${n.state}\u0000${n.weight}\u0000${n.zone}\u0000${n.address}\u0000${n.id}`);
    idHash.set(id, fnvString(FNV_OFFSET, id) >>> 0);
  }
  const hashOf = (id: string): number => idHash.get(id) ?? fnvString(FNV_OFFSET_2, id);
  for (let p = 0; p < table.partitions.length; p++) {
    const { replicas, pending } = table.partitions[p];
    a = mix(a, SEP_ROW);
    b = mix(b, p);
    for (const id of replicas) {
      const h = hashOf(id);
      a = mix(a, h);
      b = mix(b, h ^ SEP_ROW);
    }
    a = mix(a, SEP_PENDING);
    for (const id of pending) {
      const h = hashOf(id);
      a = mix(a, h);
      b = mix(b, h ^ SEP_PENDING);
    }
  }
  return (a >>> 0).toString(16).padStart(8, '0') + (b >>> 0).toString(16).padStart(8, '0');
}

function sameIds(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function sameNode(a: TableNode, b: TableNode): boolean {
  return a.id === b.id && a.address === b.address && a.internal === b.internal && a.zone === b.zone && a.weight === b.weight && a.state === b.state;
}

/** The change from `base` to `next` (same D and K). */
export function encodeTableDelta(base: PartitionTable, next: PartitionTable, checksum = tableChecksum(next)): TableDelta {
  if (base.digits !== next.digits || base.redundancy !== next.redundancy || base.partitions.length !== next.partitions.length) {
    throw new Error('a table delta needs the same digits and redundancy on both sides');
  }
  const nodesSet = Object.values(next.nodes).filter((n) => !base.nodes[n.id] || !sameNode(base.nodes[n.id], n));
  const nodesRemoved = Object.keys(base.nodes).filter((id) => !next.nodes[id]);
  const partitions: TableDelta['partitions'] = [];
  for (let p = 0; p < next.partitions.length; p++) {
    const was = base.partitions[p];
    const is = next.partitions[p];
    if (was === is) continue;
    if (sameIds(was.replicas, is.replicas) && sameIds(was.pending, is.pending) && sameIds(was.why ?? [], is.why ?? [])) continue;
    partitions.push({ p, replicas: is.replicas, pending: is.pending, ...(is.why ? { why: is.why } : {}) });
  }
  return {
    format: 'delta', baseEpoch: base.epoch, epoch: next.epoch, ...signatureOf(next), digits: next.digits, redundancy: next.redundancy, checksum, nodesSet, nodesRemoved, partitions,
  };
}

function signatureOf(t: PartitionTable): { cluster?: string; sig?: string } {
  return { ...(t.cluster !== undefined ? { cluster: t.cluster } : {}), ...(t.sig !== undefined ? { sig: t.sig } : {}) };
}

/** The whole table with node indices, reasons by dictionary. */
export function encodeCompactTable(table: PartitionTable, checksum = tableChecksum(table)): CompactTable {
  const nodes = Object.values(table.nodes);
  const index = new Map(nodes.map((n, i) => [n.id, i]));
  const rows = table.partitions.map((e) => {
    const row: number[] = [];
    for (const id of e.replicas) row.push(index.get(id) as number);
    for (const id of e.pending) row.push(-(index.get(id) as number) - 1);
    return row;
  });
  const lists: string[][] = [];
  const listIndex = new Map<string, number>();
  const whyIndex = table.partitions.map((e) => {
    if (!e.why) return -1;
    const key = e.why.join('\u0000');
    let i = listIndex.get(key);
    if (i === undefined) {
      i = lists.length;
      lists.push(e.why);
      listIndex.set(key, i);
    }
    return i;
  });
  return {
    format: 'compact', epoch: table.epoch, ...signatureOf(table), digits: table.digits, redundancy: table.redundancy, checksum, nodes, rows,
    ...(lists.length > 0 ? { why: { lists, index: whyIndex } } : {}),
  };
}

const bad = (why: string): FogError => new FogError('FOG_ERR_BAD_REQUEST', `malformed table: ${why}`);

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function readHeader(m: Record<string, unknown>): { epoch: number; digits: number; redundancy: number; cluster?: string; sig?: string } {
  const { epoch, digits, redundancy, cluster, sig } = m;
  if (cluster !== undefined && typeof cluster !== 'string') throw bad('cluster');
  if (sig !== undefined && typeof sig !== 'string') throw bad('sig');
  if (!Number.isSafeInteger(epoch) || (epoch as number) < 1) throw bad('epoch');
  // The receiver allocates 16^D rows: refuse a D no table can have before allocating.
  if (!Number.isInteger(digits) || (digits as number) < 1 || (digits as number) > TABLE_DIGITS_DECODE_MAX) throw bad('digits');
  if (!Number.isInteger(redundancy) || (redundancy as number) < 1) throw bad('redundancy');
  return {
    epoch: epoch as number, digits: digits as number, redundancy: redundancy as number,
    ...(cluster !== undefined ? { cluster } : {}), ...(sig !== undefined ? { sig } : {}),
  };
}

/** Largest D a receiver decodes (16^6 rows); the controller's own limit is lower. Unit: hex digits. */
export const TABLE_DIGITS_DECODE_MAX = 6;

function readNode(x: unknown): TableNode {
  if (!isObject(x)) throw bad('node entry');
  const { id, address, internal, zone, weight, state } = x;
  if (typeof id !== 'string' || typeof address !== 'string' || typeof zone !== 'string' || typeof weight !== 'number' || !NODE_STATES.includes(state as NodeState)) {
    throw bad('node entry');
  }
  if (internal !== undefined && typeof internal !== 'string') throw bad('node entry');
  return { id, address, ...(internal !== undefined ? { internal } : {}), zone, weight, state: state as NodeState };
}

function readIds(x: unknown, nodes: Record<string, TableNode>): string[] {
  if (!Array.isArray(x) || !x.every((id) => typeof id === 'string' && Object.prototype.hasOwnProperty.call(nodes, id))) throw bad('replica list');
  return x as string[];
}

function verify(table: PartitionTable, checksum: unknown): PartitionTable {
  const actual = tableChecksum(table);
  if (actual !== checksum) throw new FogError('FOG_ERR_TABLE_CHECKSUM', undefined, { epoch: table.epoch, expected: String(checksum), actual });
  return table;
}

function decodeCompact(m: Record<string, unknown>): PartitionTable {
  const header = readHeader(m);
  if (!Array.isArray(m.nodes) || !Array.isArray(m.rows) || m.rows.length !== partitionCount(header.digits)) throw bad('compact body');
  const list = m.nodes.map(readNode);
  const nodes: Record<string, TableNode> = {};
  for (const n of list) nodes[n.id] = n;
  const why = readWhy(m.why, m.rows.length);
  const partitions: PartitionEntry[] = new Array(m.rows.length);
  for (let p = 0; p < m.rows.length; p++) {
    const row = m.rows[p];
    if (!Array.isArray(row)) throw bad('compact row');
    const entry: PartitionEntry = { replicas: [], pending: [] };
    for (const cell of row) {
      const index = typeof cell === 'number' && cell < 0 ? -cell - 1 : cell;
      if (!Number.isInteger(index) || index < 0 || index >= list.length) throw bad('compact row');
      (typeof cell === 'number' && cell < 0 ? entry.pending : entry.replicas).push(list[index as number].id);
    }
    if (why && why.index[p] >= 0) entry.why = why.lists[why.index[p]];
    partitions[p] = entry;
  }
  return verify({ ...header, partitions, nodes }, m.checksum);
}

function readWhy(x: unknown, partitions: number): { lists: string[][]; index: number[] } | null {
  if (x === undefined) return null;
  if (!isObject(x) || !Array.isArray(x.lists) || !Array.isArray(x.index) || x.index.length !== partitions) throw bad('compact reasons');
  const lists = x.lists;
  if (!lists.every((l) => Array.isArray(l) && l.every((w) => typeof w === 'string'))) throw bad('compact reasons');
  if (!x.index.every((i) => Number.isInteger(i) && (i as number) >= -1 && (i as number) < lists.length)) throw bad('compact reasons');
  return { lists: lists as string[][], index: x.index as number[] };
}

function applyDelta(current: PartitionTable, m: Record<string, unknown>): PartitionTable {
  const header = readHeader(m);
  if (header.digits !== current.digits || header.redundancy !== current.redundancy) throw bad('delta changes digits or redundancy');
  if (!Array.isArray(m.nodesSet) || !Array.isArray(m.nodesRemoved) || !Array.isArray(m.partitions)) throw bad('delta body');
  const nodes: Record<string, TableNode> = { ...current.nodes };
  for (const id of m.nodesRemoved) {
    if (typeof id !== 'string') throw bad('removed node id');
    delete nodes[id];
  }
  for (const x of m.nodesSet) {
    const n = readNode(x);
    nodes[n.id] = n;
  }
  const partitions = current.partitions.slice();
  for (const x of m.partitions) {
    if (!isObject(x) || !Number.isInteger(x.p) || (x.p as number) < 0 || (x.p as number) >= partitions.length) throw bad('delta partition');
    const why = x.why === undefined ? undefined : Array.isArray(x.why) && x.why.every((w) => typeof w === 'string') ? (x.why as string[]) : null;
    if (why === null) throw bad('delta reasons');
    partitions[x.p as number] = { replicas: readIds(x.replicas, nodes), pending: readIds(x.pending, nodes), ...(why ? { why } : {}) };
  }
  return verify({ ...header, partitions, nodes }, m.checksum);
}

/**
 * The table a pushed or fetched message describes, given the table held (null: none). Returns
 * null when the message is not newer than what is held. Throws FogError: FOG_ERR_BAD_REQUEST
 * for a malformed body, FOG_ERR_TABLE_BASE_MISMATCH for a delta from an epoch not held,
 * FOG_ERR_TABLE_CHECKSUM when the result does not match. The held table is never modified.
 */
export function decodeTableMessage(current: PartitionTable | null, body: unknown): PartitionTable | null {
  if (!isObject(body)) throw bad('not an object');
  const epoch = body.epoch;
  if (typeof epoch === 'number' && current && epoch <= current.epoch) return null;
  if (body.format === 'delta') {
    if (!current || current.epoch !== body.baseEpoch) {
      throw new FogError('FOG_ERR_TABLE_BASE_MISMATCH', undefined, { held: current?.epoch ?? 0, base: body.baseEpoch });
    }
    return applyDelta(current, body);
  }
  if (body.format === 'compact') return decodeCompact(body);
  if (body.format !== undefined) throw bad(`unknown format ${String(body.format)}`);
  // Plain PartitionTable.
  const header = readHeader(body);
  if (!Array.isArray(body.partitions) || body.partitions.length !== partitionCount(header.digits) || !isObject(body.nodes)) throw bad('plain table');
  return body as unknown as PartitionTable;
}
