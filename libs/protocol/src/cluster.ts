/** Membership and partition-table types shared by the controller, frontends and storage. */

export type NodeRole = 'storage' | 'frontend';

/**
 * up: heartbeating. down: missed heartbeats; reads avoid it, writes still try it.
 * out: down long enough that its partitions were given to other nodes.
 * leaving: decommissioning; its partitions are being handed to others.
 * left: decommissioned; holds nothing and may be stopped.
 */
export type NodeState = 'up' | 'down' | 'out' | 'leaving' | 'left';
export const NODE_STATES: readonly NodeState[] = ['up', 'down', 'out', 'leaving', 'left'];

/** How a storage node derives its weight from its capacity (`--weight auto`). */
export type WeightMode = 'auto' | 'auto:memory' | 'auto:cpu';
export const WEIGHT_MODES: readonly WeightMode[] = ['auto', 'auto:memory', 'auto:cpu'];

/** What an automatic weight was derived from, as the node reports it at registration. */
export interface WeightBasis {
  mode: WeightMode;
  cpus: number;
  memoryBytes: number;
  /** limit: the node's --max-memory-bytes; cgroup: its container's limit; total: the machine's memory. */
  memorySource: 'limit' | 'cgroup' | 'total';
  /** Which resource set the weight. */
  limitedBy: 'cpu' | 'memory';
}

export interface NodeRegistration {
  id: string;
  role: NodeRole;
  /** host:port other nodes reach it on. */
  address: string;
  /** host:port of its internal listener when it has its own (--internal-port). */
  internal?: string;
  zone: string;
  weight: number;
  /** Storage: present when the weight was derived from the node's capacity (--weight auto). */
  weightBasis?: WeightBasis;
  /**
   * Storage: the node starts with no data (in memory, or an empty data dir). If the table
   * already lists it as a replica, it must copy its partitions before serving reads again.
   */
  empty?: boolean;
  /** Epoch of the table the node holds (0: none). A controller that lost its state learns from it. */
  epoch?: number;
  /**
   * Storage: a random id of this process run. The same run registering again (its answer was
   * lost, or the controller restarted) cannot have lost data, so `empty` then demotes nothing.
   */
  boot?: string;
}

export interface TableNode {
  id: string;
  /** host:port of the node's client listener (frontends: the client API; storage: health and metrics). */
  address: string;
  /** host:port of its internal listener when it has its own (--internal-port); absent: `address`. */
  internal?: string;
  zone: string;
  weight: number;
  state: NodeState;
}

export interface PartitionEntry {
  /** Active replicas, in placement order. */
  replicas: string[];
  /** Replicas still receiving a copy: they get writes, are not read from, do not count for quorum. */
  pending: string[];
  /** Why each active replica was chosen (placement reason codes, parallel to replicas). */
  why?: string[];
}

export interface PartitionTable {
  epoch: number;
  /** D: partitions are the first D hex digits of SHA-1(key). */
  digits: number;
  /** K: replicas per partition. */
  redundancy: number;
  /** Indexed by partition number (0 .. 16^D - 1). */
  partitions: PartitionEntry[];
  /** Every storage node the table names, by id. */
  nodes: Record<string, TableNode>;
  /** The cluster's id, fixed when its first table formed (auth.ts CLUSTER_ID_RE). */
  cluster?: string;
  /** The controller's signature of the table (auth.ts signTable); absent in an insecure cluster. */
  sig?: string;
}

/** Where a node's internal routes answer: its internal listener, or its one listener. */
export function internalAddressOf(n: { address: string; internal?: string }): string {
  return n.internal ?? n.address;
}

export function partitionCount(digits: number): number {
  return 16 ** digits;
}

export function partitionLabel(partition: number, digits: number): string {
  return partition.toString(16).padStart(digits, '0');
}

export const NODE_ID_RE = /^[A-Za-z0-9_.:@-]{1,128}$/;
export const ZONE_RE = /^[A-Za-z0-9_.-]{1,64}$/;
/** host:port with a hostname, IPv4 or bracketed IPv6 host. */
export const ADDRESS_RE = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]{1,253}):(\d{1,5})$/;

export function parseAddress(text: string): { host: string; port: number } | null {
  const m = ADDRESS_RE.exec(text);
  if (!m) return null;
  const port = Number(m[2]);
  if (port < 1 || port > 65535) return null;
  return { host: m[1], port };
}

/** A storage node's report on copying a partition it is pending for. */
export interface HandoffReport {
  partition: number;
  /** Epoch of the table that made the node pending. */
  epoch: number;
  keysCopied: number;
  bytesCopied: number;
  /**
   * Value bytes of the partition at the source when the copy began (the source's estimate of
   * what there is to copy). Absent when the source did not say.
   */
  bytesTotal?: number;
  /** True once the copy is complete: the node asks to become an active replica. */
  done: boolean;
  /**
   * With done: the active replicas the copy took its data from (one paged whole, the others
   * reconciled by digest). The controller accepts the report only when they cover every active
   * replica of the partition in its table: a copy from one stale replica is not complete.
   */
  sources?: string[];
  /** Entries stored from replicas other than the paged one: what that one lacked. */
  keysRecovered?: number;
}

/** A replica being added to a partition, as the controller shows it. */
export interface MoveView {
  partition: number;
  /** The node receiving the copy. */
  node: string;
  /** Why: a node joined, one went out, one is leaving, or placement rebalanced. */
  reason: 'join' | 'replace' | 'decommission' | 'rebalance';
  /** Controller time (ms since the epoch) when the table first listed the node as pending. */
  startedAtMs: number;
  keysCopied: number;
  bytesCopied: number;
  /** Value bytes to copy, as the source estimated them; null until the node reports it. */
  bytesTotal: number | null;
  /** Copy rate measured between this move's progress reports; null until two reports. */
  rateBytesPerSec: number | null;
  /** Estimated ms until this copy is done, from bytesTotal and the rate; null when unknown. */
  etaMs: number | null;
  done: boolean;
}

/** What a node reports about its load with each heartbeat (all optional). */
export interface NodeLoadReport {
  /** Live keys held. */
  keys?: number;
  /** Bytes held (keys, values and entry overhead). */
  bytes?: number;
  /** HTTP requests served since the process started (the controller turns it into a rate). */
  requestsTotal?: number;
}

/** A node's load as the controller shows it. */
export interface NodeLoadView {
  keys: number | null;
  bytes: number | null;
  /** Requests per second between the last two heartbeats that carried a count; null when unknown. */
  requestsPerSec: number | null;
}

export type PartitionHealth = 'healthy' | 'under_replicated' | 'unavailable';
export const PARTITION_HEALTHS: readonly PartitionHealth[] = ['healthy', 'under_replicated', 'unavailable'];

/** One partition with fewer than K active replicas up. */
export interface AffectedPartition {
  partition: number;
  health: PartitionHealth;
  /** Active replicas whose node is up (or leaving, which still serves). */
  up: number;
  /** Active replicas in the table, up or not. */
  active: number;
  /** Replicas being copied to. */
  pending: number;
}

/**
 * Partition health against K. healthy: K active replicas up. under_replicated: fewer than K but
 * at least a quorum (a majority of K), so default-quorum reads and writes still succeed.
 * unavailable: fewer than a quorum up: default-quorum requests fail there.
 */
export interface HealthSummary {
  healthy: number;
  underReplicated: number;
  unavailable: number;
  /** Unavailable partitions with no active replica up at all: not even `r=one` can read them. */
  noneUp: number;
  /** The worst affected partitions first, at most `affectedMax` of them. */
  affected: AffectedPartition[];
  affectedMax: number;
  /**
   * One character per partition, in partition order: `h` healthy, `u` under-replicated,
   * `x` unavailable. Only for D up to `mapDigitsMax` (16^D characters); absent above.
   */
  map?: string;
  mapDigitsMax: number;
}

/** Totals of the moves since the cluster last had none. */
export interface MovesProgressView {
  /** Controller time when the first of these moves started; null when there are none. */
  startedAtMs: number | null;
  movesTotal: number;
  movesDone: number;
  bytesCopied: number;
  /** Bytes copied plus the estimated bytes still to copy; null while no source has said. */
  bytesTotal: number | null;
  /** Copy rate over the last `rateWindowMs`; null until it can be measured. */
  rateBytesPerSec: number | null;
  /** Estimated ms until every move is copied; null when unknown. */
  etaMs: number | null;
  rateWindowMs: number;
}

/** Something that happened in the cluster, for the status page's recent events. */
export interface ClusterEvent {
  atMs: number;
  kind: 'node' | 'decommission' | 'epoch' | 'health' | 'moves';
  message: string;
  node?: string;
  epoch?: number;
}

/** One node as `GET /v1/cluster` shows it. */
export interface ClusterNodeView {
  id: string;
  role: NodeRole;
  address: string;
  zone: string;
  weight: number;
  /** Present when the node derived its weight from its capacity. */
  weightBasis?: WeightBasis;
  state: NodeState;
  lastHeartbeatAgoMs: number;
  /** Storage nodes: partitions held as an active replica, and being copied to it. */
  partitions?: number;
  pendingPartitions?: number;
  /** Storage nodes: load as the node last reported it with a heartbeat. */
  load?: NodeLoadView;
}

/** `GET /v1/cluster` on the controller: membership, epoch and moves in progress. */
export interface ClusterView {
  epoch: number;
  redundancy: number;
  partitionDigits: number;
  partitions: number;
  formed: boolean;
  storageRegistered: number;
  storageExpected: number;
  nodes: ClusterNodeView[];
  /** Replicas being added, with copy progress: at most `movesMax` of them, the copies under way first. */
  moves: MoveView[];
  movesPending: number;
  /**
   * A placement is owed or being computed (on the controller's placement thread): the moves
   * are about to change. A join is "done" only when this is false and no move is pending.
   */
  planning?: boolean;
  /** Moves left out of `moves` by the bound. */
  movesOmitted: number;
  /** Controller time when this view was made (ages and ETAs are relative to it). */
  atMs: number;
  /** Partition health; null before the first table. */
  health: HealthSummary | null;
  /** Totals, rate and ETA of the moves in progress. */
  progress: MovesProgressView;
  /** The most recent events, oldest first (a bounded ring). */
  events: ClusterEvent[];
}
