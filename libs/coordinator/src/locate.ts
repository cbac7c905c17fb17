import { describeReason, describeWeight, partitionOf, REPLICA_REASONS, type ReplicaReason } from '@fog/partitioning';
import { partitionLabel, type NodeState, type PartitionTable, type WeightBasis } from '@fog/protocol';

export interface LocatedReplica {
  id: string;
  address: string;
  zone: string;
  state: NodeState | 'unknown';
  /** active: holds the partition and serves it; pending: still receiving a copy (gets writes, is not read). */
  role: 'active' | 'pending';
  /** Position in the placement order (0 first). */
  rank: number;
  /** Placement reason code (kept, rank, zone, fallback), or null when the table gives none. */
  why: ReplicaReason | null;
  reason: string;
  weight?: number;
  /** Where the weight came from (set by flag, or derived from capacity when the basis is known). */
  weightReason?: string;
  weightBasis?: WeightBasis;
}

export interface Location {
  key: string;
  partition: number;
  /** The partition as D hex digits, as the storage nodes and logs name it. */
  partitionHex: string;
  epoch: number;
  replicas: LocatedReplica[];
  /** The first active replica that is up, in placement order: where a job on this key should run. */
  preferred: string | null;
}

const PENDING_REASON = 'Receiving a copy of the partition: it gets every write but is not read from until it is in sync.';
const NO_REASON = 'The partition table gives no reason for this replica.';

/** Where a key lives in this table, and why each replica is there. */
export function locate(table: PartitionTable, key: string, placeBy: string = key, weightBases: ReadonlyMap<string, WeightBasis> = new Map()): Location {
  const partition = partitionOf(placeBy, table.digits);
  const entry = table.partitions[partition];
  const describe = (id: string, role: LocatedReplica['role'], rank: number): LocatedReplica => {
    const node = table.nodes[id];
    const code = role === 'active' ? entry.why?.[rank] : undefined;
    const why = code !== undefined && (REPLICA_REASONS as readonly string[]).includes(code) ? (code as ReplicaReason) : null;
    return {
      id,
      address: node?.address ?? '',
      zone: node?.zone ?? '',
      state: node?.state ?? 'unknown',
      role,
      rank,
      why,
      reason: role === 'pending' ? PENDING_REASON : why ? describeReason(why) : NO_REASON,
      ...(node ? weightOf(node.weight, weightBases.get(id)) : {}),
    };
  };
  const replicas = [
    ...entry.replicas.map((id, i) => describe(id, 'active', i)),
    ...entry.pending.map((id, i) => describe(id, 'pending', entry.replicas.length + i)),
  ];
  const preferred = replicas.find((r) => r.role === 'active' && r.state === 'up')?.id ?? null;
  return { key, partition, partitionHex: partitionLabel(partition, table.digits), epoch: table.epoch, replicas, preferred };
}

function weightOf(weight: number, basis: WeightBasis | undefined): Pick<LocatedReplica, 'weight' | 'weightReason' | 'weightBasis'> {
  return { weight, weightReason: describeWeight(weight, basis), ...(basis ? { weightBasis: basis } : {}) };
}
